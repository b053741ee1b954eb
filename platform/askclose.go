package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// AskToClose asks the process key names to close the way its desktop would (SIGTERM on
// Linux; a quit Apple event to an app on macOS, else SIGTERM; WM_CLOSE to its windows on
// Windows), and returns without waiting for it and without ever killing it: a product
// asked to close for idleness may put up its "save changes?" prompt and stay open. It
// returns an error wrapping ErrNoProcess when no process has key.
func AskToClose(ctx context.Context, key ProcKey) error {
	if key.PID <= 0 {
		return fmt.Errorf("ask process %v to close: %w", key, ErrNoProcess)
	}
	if err := askToClose(ctx, key); err != nil {
		return fmt.Errorf("ask process %v to close: %w", key, err)
	}
	return nil
}

// CPUTime is the processor time, user and system, that the process with key's pid has
// used so far. It reads by pid: a pid reused between the agent's scans is at worst taken
// for busy for one sample, which keeps a product open, never closes one.
func CPUTime(ctx context.Context, key ProcKey) (time.Duration, error) {
	t, err := (&process.Process{Pid: key.PID}).TimesWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("cpu time of process %v: %w", key, err)
	}
	return time.Duration((t.User + t.System) * float64(time.Second)), nil
}
