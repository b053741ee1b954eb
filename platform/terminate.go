package platform

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Ending says how Terminate ended a process.
type Ending int

const (
	// TermClosed: the process exited within the grace period after it was asked to close.
	TermClosed Ending = iota + 1
	// TermKilled: the process still ran when the grace period ended, and was killed.
	TermKilled
)

func (e Ending) String() string {
	switch e {
	case TermClosed:
		return "closed"
	case TermKilled:
		return "killed"
	}
	return fmt.Sprintf("Ending(%d)", int(e))
}

// ErrNoProcess means no running process has the key: it has exited, and its pid may now
// belong to another process, which Terminate leaves alone.
var ErrNoProcess = errors.New("no such process")

const (
	termDefaultGrace = 2 * time.Second
	// termKillWait bounds the wait for a killed process to go: one stuck in the kernel (a hung
	// network file system) can outlast any kill.
	termKillWait = 5 * time.Second
	// termPollEvery is how often a wait looks at ctx, and, where the OS has no way to wait
	// for a process that is not a child, at the process.
	termPollEvery = 20 * time.Millisecond
)

// Terminate asks the process key names to close (SIGTERM on Unix; WM_CLOSE to its top-level
// windows on Windows), waits up to grace (0 means 2s) for it to exit, then kills it, and says
// which ended it. Before each signal it makes sure the pid still belongs to the process with
// key's create time, so a process that merely reuses the pid is never touched; it returns an
// error wrapping ErrNoProcess when there is none to start with. When ctx ends during the wait,
// Terminate returns ctx's error without killing.
func Terminate(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	if grace <= 0 {
		grace = termDefaultGrace
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if key.PID <= 0 {
		// Unix reads 0 and -1 as "my process group" and "everyone".
		return 0, fmt.Errorf("terminate process %v: %w", key, ErrNoProcess)
	}
	end, err := terminate(ctx, key, grace)
	if err != nil {
		return 0, fmt.Errorf("terminate process %v: %w", key, err)
	}
	return end, nil
}

// termWait calls gone until it reports true or d passes, looking at ctx between calls.
func termWait(ctx context.Context, d time.Duration, gone func(wait time.Duration) (bool, error)) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		ok, err := gone(max(min(left, termPollEvery), 0))
		if ok || err != nil {
			return ok, err
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
	}
}
