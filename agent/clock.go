package agent

import (
	"context"
	"time"

	"tollgate/charge"
	"tollgate/platform"
)

// Clock tells the agent the time, as the meter reads it. A nil Options.Clock means the
// system's clocks: the wall clock for windows, the monotonic clock (which stands still
// while the machine sleeps) for use.
type Clock interface {
	Reading() charge.Reading
}

type systemClock struct{ start time.Time }

func (c systemClock) Reading() charge.Reading {
	now := time.Now()
	return charge.Reading{Wall: now.Round(0), Mono: now.Sub(c.start)}
}

// FileClock is the test clock (platform.FileClock) as the meter reads it. With it the
// agent takes the file's time as the ledger's and applies no offset.
type FileClock struct{ *platform.FileClock }

// Reading reads the file.
func (c FileClock) Reading() charge.Reading {
	w, m := c.Read()
	return charge.Reading{Wall: w, Mono: m}
}

// pause waits d by the agent's clock, or until ctx ends; false when ctx ended. The test
// clock's time moves only when its file is written, so a test sees a wait of exactly d
// without waiting for it.
func (a *Agent) pause(ctx context.Context, d time.Duration) bool {
	if _, test := a.opts.Clock.(FileClock); test {
		until := a.opts.Clock.Reading().Wall.Add(d)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for a.opts.Clock.Reading().Wall.Before(until) {
			select {
			case <-ctx.Done():
				return false
			case <-tick.C:
			}
		}
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
