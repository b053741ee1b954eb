// Package clocktest is a clock.Clock that tests move: nothing it times fires until the
// test advances it, so a test plays minutes or days of timers without waiting for them.
package clocktest

import (
	"context"
	"slices"
	"sync"
	"time"

	"tollgate/clock"
)

// Clock is a fake clock.Clock. Its timers and tickers run on its monotonic clock, as
// Go's do: Advance fires them, Set (a wall clock jump) does not.
type Clock struct {
	mu      sync.Mutex
	wall    time.Time
	mono    time.Duration
	waiters []*waiter     // the armed timers and tickers, in the order they were armed
	changed chan struct{} // closed, and replaced, whenever a timer is armed
}

// New returns a clock whose wall clock stands at now and whose monotonic clock at an
// hour, as if the machine had been up a while.
func New(now time.Time) *Clock {
	return &Clock{wall: now, mono: time.Hour, changed: make(chan struct{})}
}

// Now is the wall clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

// Read is the wall and the monotonic clock.
func (c *Clock) Read() (time.Time, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall, c.mono
}

// Set moves the wall clock to t, forwards or back, as a user or NTP does; the monotonic
// clock and so the timers stay where they are.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = t
}

// Advance moves both clocks on by d, firing every timer and tick due on the way, in
// order, each with the clocks at its instant.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.mono + d
	for {
		var next *waiter
		for _, w := range c.waiters {
			if w.at <= end && (next == nil || w.at < next.at) {
				next = w
			}
		}
		if next == nil {
			break
		}
		if next.at > c.mono {
			c.wall = c.wall.Add(next.at - c.mono)
			c.mono = next.at
		}
		select {
		case next.ch <- c.wall:
		default: // a reader that has not taken the last tick misses this one
		}
		if next.every > 0 {
			next.at += next.every
		} else {
			next.disarm()
		}
	}
	c.wall = c.wall.Add(end - c.mono)
	c.mono = end
}

// Pending is how long until each armed timer and ticker fires, soonest first.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, w := range c.waiters {
		out = append(out, w.at-c.mono)
	}
	slices.Sort(out)
	return out
}

// BlockUntil waits until at least n timers and tickers are armed: until the code under
// test has started to wait, so that Advance then finds its timer.
func (c *Clock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		armed := len(c.waiters)
		changed := c.changed
		c.mu.Unlock()
		if armed >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-changed:
		}
	}
}

// NewTimer makes a timer that fires once the clock is advanced by d.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	return &timer{c.add(d, 0)}
}

// NewTicker makes a ticker that fires each time the clock is advanced past another d.
func (c *Clock) NewTicker(d time.Duration) clock.Ticker {
	if d <= 0 {
		panic("clocktest: non-positive interval for NewTicker")
	}
	return &ticker{c.add(d, d)}
}

type waiter struct {
	c     *Clock
	ch    chan time.Time
	at    time.Duration // on the monotonic clock
	every time.Duration // a ticker's period; 0 for a timer
	armed bool
}

func (c *Clock) add(d, every time.Duration) *waiter {
	w := &waiter{c: c, ch: make(chan time.Time, 1), every: every}
	c.mu.Lock()
	defer c.mu.Unlock()
	w.arm(d)
	return w
}

// arm sets w to fire d from now; the caller holds c.mu. Like Go's timers since 1.23, a
// value not yet received is dropped, so no stale time is read after Reset or Stop.
func (w *waiter) arm(d time.Duration) {
	w.drain()
	w.at = w.c.mono + max(d, 0)
	if !w.armed {
		w.armed = true
		w.c.waiters = append(w.c.waiters, w)
	}
	close(w.c.changed)
	w.c.changed = make(chan struct{})
}

// disarm takes w off the clock; the caller holds c.mu.
func (w *waiter) disarm() {
	if w.armed {
		w.armed = false
		w.c.waiters = slices.DeleteFunc(w.c.waiters, func(x *waiter) bool { return x == w })
	}
}

func (w *waiter) drain() {
	select {
	case <-w.ch:
	default:
	}
}

func (w *waiter) stop() bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	was := w.armed
	w.disarm()
	w.drain()
	return was
}

func (w *waiter) reset(d, every time.Duration) bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	was := w.armed
	w.every = every
	w.arm(d)
	return was
}

type timer struct{ w *waiter }

func (t *timer) C() <-chan time.Time        { return t.w.ch }
func (t *timer) Stop() bool                 { return t.w.stop() }
func (t *timer) Reset(d time.Duration) bool { return t.w.reset(d, 0) }

type ticker struct{ w *waiter }

func (t *ticker) C() <-chan time.Time { return t.w.ch }
func (t *ticker) Stop()               { t.w.stop() }

func (t *ticker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clocktest: non-positive interval for Ticker.Reset")
	}
	t.w.reset(d, d)
}
