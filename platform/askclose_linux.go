package platform

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// askToClose sends SIGTERM through a pidfd where the kernel has them (it reaches that
// process or none), else by pid after a look at the create time.
func askToClose(ctx context.Context, key ProcKey) error {
	fd, err := unix.PidfdOpen(int(key.PID), 0)
	switch {
	case errors.Is(err, unix.ENOSYS):
		return termSignalIf(ctx, key, unix.SIGTERM)
	case errors.Is(err, unix.ESRCH):
		return ErrNoProcess
	case err != nil:
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	if alive, err := termAlive(ctx, key); err != nil {
		return err
	} else if !alive {
		return ErrNoProcess
	}
	return termPidfdSignal(fd, unix.SIGTERM)
}
