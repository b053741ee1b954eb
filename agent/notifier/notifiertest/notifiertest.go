// Package notifiertest has the fake the notifier's tests may use for the OS's
// notifications: a display that records what it is asked to show. Their clock is
// clocktest's.
package notifiertest

import (
	"context"
	"sync"

	"tollgate/platform"
)

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
