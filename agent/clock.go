package agent

import (
	"context"
	"time"

	"tollgate/charge"
	tclock "tollgate/clock" // named so: message.go's clock() says a time of day
	"tollgate/platform"
)

// readClock is the clock as the meter reads it: wall and monotonic at one instant.
func readClock(c tclock.Clock) charge.Reading {
	w, m := c.Read()
	return charge.Reading{Wall: w, Mono: m}
}

// pause waits d by the agent's clock, or until ctx ends; false when ctx ended. The test
// clock's time moves only when its file is written, so a test sees a wait of exactly d
// without waiting for it.
func (a *Agent) pause(ctx context.Context, d time.Duration) bool {
	if _, test := a.opts.Clock.(*platform.FileClock); test {
		// The file clock's timers run on the machine's time; a Retry-After is waited out on
		// the file's.
		until := a.opts.Clock.Now().Add(d)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for a.opts.Clock.Now().Before(until) {
			select {
			case <-ctx.Done():
				return false
			case <-tick.C:
			}
		}
		return true
	}
	t := a.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// elapsed is the agent clock's monotonic reading. The agent's own intervals (how often it
// asks the ledger again, reports to it) are measured on it: a test clock drives them, and
// a wall clock set back does not hold them up.
func (a *Agent) elapsed() time.Duration {
	_, m := a.opts.Clock.Read()
	return m
}

// since is an instant of Agent.elapsed; its zero value is never.
type since struct {
	at  time.Duration
	set bool
}

func sinceNow(a *Agent) since { return since{a.elapsed(), true} }

// within reports whether s was less than d before now (an Agent.elapsed reading).
func (s since) within(now, d time.Duration) bool { return s.set && now-s.at < d }
