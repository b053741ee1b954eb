package platform

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// ProcOwner returns the name of the account running pid, without its domain (as Process.User
// names it), from the process's token.
func ProcOwner(pid int32) (string, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return "", fmt.Errorf("pid %d: %w: %w", pid, ErrNoOwner, err)
	}
	defer windows.CloseHandle(h)
	var accounts procAccounts
	user, _ := accounts.of(h)
	if user == "" {
		return "", fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	return user, nil
}
