package platform

import (
	"sync"

	"golang.org/x/sys/windows"
)

// procAccountsMax bounds the accounts kept; see procUsersMax.
const procAccountsMax = 256

// procAccounts names the accounts behind process tokens. Naming a SID can ask a domain
// controller, so names are kept by SID; a SID that cannot be named is not, since the
// controller may be back later.
type procAccounts struct {
	mu    sync.Mutex
	names map[string][2]string // SID -> user, domain
}

// of returns the account running the process h, or empty strings when its token is closed
// to this process.
func (a *procAccounts) of(h windows.Handle) (user, domain string) {
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return "", ""
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return "", ""
	}
	sid := tu.User.Sid.String()
	a.mu.Lock()
	defer a.mu.Unlock()
	if n, ok := a.names[sid]; ok {
		return n[0], n[1]
	}
	user, domain, _, err = tu.User.Sid.LookupAccount("")
	if err != nil {
		return "", ""
	}
	if a.names == nil || len(a.names) >= procAccountsMax {
		a.names = make(map[string][2]string)
	}
	a.names[sid] = [2]string{user, domain}
	return user, domain
}
