//go:build darwin || linux

package platform

import "fmt"

// procOwnerName names uid, the owner of pid; an account without a name is no owner a
// catalogue can know.
func procOwnerName(pid int32, uid int) (string, error) {
	name := accountName(uid)
	if name == "" {
		return "", fmt.Errorf("pid %d: uid %d has no account name: %w", pid, uid, ErrNoOwner)
	}
	return name, nil
}
