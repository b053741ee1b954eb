// Package notifiertest has the fakes the notifier's tests may use: a clock the test moves
// and a display that records what it is asked to show.
package notifiertest

import (
	"context"
	"sync"
	"time"

	"tollgate/platform"
)

// Clock is a fake notifier.Clock: Now is what the test sets, and each wait the notifier
// starts is handed to the test, which ends it with Release.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan Wait
}

// Wait is one backoff the notifier is sleeping in.
type Wait struct {
	D    time.Duration
	fire chan time.Time
}

// Release ends the wait.
func (w Wait) Release() { w.fire <- time.Time{} }

// NewClock returns a clock standing at now.
func NewClock(now time.Time) *Clock {
	// The notifier starts at most one wait at a time and the test takes each, so the
	// buffer only has to outlast a test that stops taking them at its end.
	return &Clock{now: now, waits: make(chan Wait, 64)}
}

// Now returns the time the test set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// After starts a wait that ends when the test releases it.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	fire := make(chan time.Time, 1)
	c.waits <- Wait{D: d, fire: fire}
	return fire
}

// Waits delivers each wait the notifier starts, in order.
func (c *Clock) Waits() <-chan Wait { return c.waits }

// Display records the notices it is given; with Fail set it records them and fails.
type Display struct {
	mu      sync.Mutex
	notices []platform.Notice
	fail    error
}

// Fail makes every later Notify return err (nil: succeed again).
func (d *Display) Fail(err error) {
	d.mu.Lock()
	d.fail = err
	d.mu.Unlock()
}

// Notify records n.
func (d *Display) Notify(_ context.Context, n platform.Notice) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notices = append(d.notices, n)
	return d.fail
}

// Notices returns what was shown so far, oldest first.
func (d *Display) Notices() []platform.Notice {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]platform.Notice(nil), d.notices...)
}
