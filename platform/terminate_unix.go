//go:build darwin || linux

package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// termBySignal terminates key by pid, reading its create time before each signal. A pid
// freed and reused between that read and the signal would get it; pidfds close that gap
// where the kernel has them.
func termBySignal(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	if err := termSignalIf(ctx, key, unix.SIGTERM); err != nil {
		return 0, err
	}
	gone := func(wait time.Duration) (bool, error) {
		alive, err := termAlive(ctx, key)
		if alive {
			time.Sleep(wait)
		}
		return !alive, err
	}
	if ok, err := termWait(ctx, grace, gone); err != nil {
		return 0, err
	} else if ok {
		return TermClosed, nil
	}
	if err := termSignalIf(ctx, key, unix.SIGKILL); errors.Is(err, ErrNoProcess) {
		return TermClosed, nil
	} else if err != nil {
		return 0, err
	}
	if ok, err := termWait(ctx, termKillWait, gone); err != nil {
		return 0, err
	} else if !ok {
		return 0, fmt.Errorf("still running %v after SIGKILL", termKillWait)
	}
	return TermKilled, nil
}

func termSignalIf(ctx context.Context, key ProcKey, sig unix.Signal) error {
	alive, err := termAlive(ctx, key)
	if err != nil {
		return err
	}
	if !alive {
		return ErrNoProcess
	}
	if err := unix.Kill(int(key.PID), sig); errors.Is(err, unix.ESRCH) {
		return ErrNoProcess
	} else if err != nil {
		return fmt.Errorf("%v: %w", sig, err)
	}
	return nil
}

// termAlive reports whether the process key names still runs; an exited process its parent
// has not reaped yet (a zombie) does not.
func termAlive(ctx context.Context, key ProcKey) (bool, error) {
	created, err := procCreatedByPid(ctx, key.PID)
	if errors.Is(err, errProcGone) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return created == key.Created, nil
}
