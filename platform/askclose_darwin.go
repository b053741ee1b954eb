package platform

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// askQuitWait bounds the wait for a quit Apple event to be delivered.
const askQuitWait = 10 * time.Second

// askToClose sends an app the quit Apple event, as the Dock's Quit does (a Cocoa app
// takes SIGTERM as a crash, without its save prompt); anything else gets SIGTERM.
func askToClose(ctx context.Context, key ProcKey) error {
	ask := termAppleQuit(ctx, key)
	if ask == nil {
		return termSignalIf(ctx, key, unix.SIGTERM)
	}
	if alive, err := termAlive(ctx, key); err != nil {
		return err
	} else if !alive {
		return ErrNoProcess
	}
	done, stop, err := ask(ctx)
	if err != nil {
		return termSignalIf(ctx, key, unix.SIGTERM)
	}
	defer stop()
	select {
	case err := <-done:
		if err != nil {
			return termSignalIf(ctx, key, unix.SIGTERM) // refused (no Automation permission)
		}
		return nil
	case <-time.After(askQuitWait):
		return nil // the app has the request; its save sheet may be holding the answer
	case <-ctx.Done():
		return ctx.Err()
	}
}
