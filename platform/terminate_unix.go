//go:build darwin || linux

package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// termAfterAsk is how long SIGTERM is given after a polite request went unanswered for the
// whole grace: the user has had their chance to save.
const termAfterAsk = 2 * time.Second

// termAsker asks a process to close the way its desktop would (a quit Apple event on macOS),
// in the background. It returns a channel that receives the asking's outcome, if it ends
// before the process does (nil: the request was delivered; an error: it was refused, such as
// for want of the Automation permission), and a function that abandons the asking.
type termAsker func(ctx context.Context) (done <-chan error, stop func(), err error)

// termBySignal terminates key by pid, reading its create time before each signal. A pid
// freed and reused between that read and the signal would get it; pidfds close that gap
// where the kernel has them.
func termBySignal(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	return termPolitely(ctx, key, grace, nil)
}

// termPolitely first asks key with ask, when there is one, and gives it grace to close; if it
// still runs, or the asking failed, it goes on as termBySignal, SIGTERM having termAfterAsk.
func termPolitely(ctx context.Context, key ProcKey, grace time.Duration, ask termAsker) (Ending, error) {
	gone := func(wait time.Duration) (bool, error) {
		alive, err := termAlive(ctx, key)
		if alive {
			time.Sleep(wait)
		}
		return !alive, err
	}
	if ask != nil {
		if alive, err := termAlive(ctx, key); err != nil {
			return 0, err
		} else if !alive {
			return 0, ErrNoProcess
		}
		if done, stop, err := ask(ctx); err == nil {
			var refused bool
			ok, err := termWait(ctx, grace, func(wait time.Duration) (bool, error) {
				select {
				case err := <-done:
					// Delivered: the app decides (a save sheet may be up); refused: no use waiting.
					refused, done = err != nil, nil
				default:
				}
				if refused {
					return false, errTermRefused
				}
				return gone(wait)
			})
			stop()
			switch {
			case ok:
				return TermClosed, nil
			case err != nil && !errors.Is(err, errTermRefused):
				return 0, err
			}
			grace = termAfterAsk
		}
	}
	if err := termSignalIf(ctx, key, unix.SIGTERM); err != nil {
		return 0, err
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

// errTermRefused ends the wait after a polite request that was refused.
var errTermRefused = errors.New("the request to close was refused")

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
