package platform

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/process"
)

// ProcOwner returns the name of the account running pid (its real uid, as Process.User
// names it): for the pre-exec gate, which sees a pid before the process source does.
func ProcOwner(pid int32) (string, error) {
	uids, err := (&process.Process{Pid: pid}).UidsWithContext(context.Background())
	if err != nil || len(uids) == 0 {
		return "", fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	return procOwnerName(pid, int(uids[0]))
}
