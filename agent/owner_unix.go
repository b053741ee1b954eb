//go:build !windows

package agent

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// procOwner is the account running pid, from the owner of its /proc entry.
func procOwner(pid int32) (string, error) {
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("no owner for pid %d", pid)
	}
	u, err := user.LookupId(strconv.Itoa(int(st.Uid)))
	if err != nil {
		return "", err
	}
	return u.Username, nil
}
