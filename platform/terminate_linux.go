package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// terminate holds the process by a pidfd (Linux 5.3 and later): signals sent through it reach
// that process or none, so one check of the create time, after opening it, covers them all.
func terminate(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	fd, err := unix.PidfdOpen(int(key.PID), 0)
	switch {
	case errors.Is(err, unix.ENOSYS):
		return termBySignal(ctx, key, grace)
	case errors.Is(err, unix.ESRCH):
		return 0, ErrNoProcess
	case err != nil:
		return 0, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	if alive, err := termAlive(ctx, key); err != nil {
		return 0, err
	} else if !alive {
		return 0, ErrNoProcess
	}
	if err := termPidfdSignal(fd, unix.SIGTERM); err != nil {
		return 0, err
	}
	gone := func(wait time.Duration) (bool, error) { return termPidfdExited(fd, wait) }
	if ok, err := termWait(ctx, grace, gone); err != nil {
		return 0, err
	} else if ok {
		return TermClosed, nil
	}
	if err := termPidfdSignal(fd, unix.SIGKILL); errors.Is(err, ErrNoProcess) {
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

func termPidfdSignal(fd int, sig unix.Signal) error {
	err := unix.PidfdSendSignal(fd, sig, nil, 0)
	if errors.Is(err, unix.ESRCH) {
		return ErrNoProcess
	}
	if err != nil {
		return fmt.Errorf("%v: %w", sig, err)
	}
	return nil
}

// termPidfdExited waits up to wait for the process to exit; a pidfd turns readable when it
// does, reaped or not.
func termPidfdExited(fd int, wait time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(wait.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll pidfd: %w", err)
		}
		return n > 0, nil
	}
}
