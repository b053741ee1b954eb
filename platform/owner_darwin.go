package platform

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ProcOwner returns the name of the account running pid (its real uid, as Process.User
// names it), read with one kern.proc.pid sysctl.
func ProcOwner(pid int32) (string, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	if err != nil || k.Proc.P_pid != pid {
		return "", fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	return procOwnerName(pid, int(k.Eproc.Pcred.P_ruid))
}
