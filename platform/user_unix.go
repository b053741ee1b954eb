//go:build darwin || linux

package platform

import "sync"

// procUsersMax bounds the names kept; a workstation has a handful of accounts, so reaching it
// means churn (a build farm's throwaway users), and starting afresh is the simplest bound.
const procUsersMax = 256

// procUsers names accounts by uid. os/user parses the account database (or asks NSS, with
// cgo) on every call, so names are kept; a uid without a name is not, since its account may be
// created later (a directory user logging in for the first time).
type procUsers struct {
	mu    sync.Mutex
	names map[int]string
}

func (u *procUsers) name(uid int) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n, ok := u.names[uid]; ok {
		return n
	}
	name := accountName(uid)
	if name == "" {
		return ""
	}
	if u.names == nil || len(u.names) >= procUsersMax {
		u.names = make(map[int]string)
	}
	u.names[uid] = name
	return name
}
