package sim

import (
	"time"

	"tollgate/charge"
)

// The nightly close (policy nightly_close, rules.md "Nightly close") as the agent runs it:
// at each warning instant (15 minutes before) and close instant its clock passes, the
// meter's Nightly is called, at charge.Nightly's instants; a device that was asleep across
// one does not catch up. The simulator takes the time of day in UTC, the same on every
// device.

// nightlyClose is the timeline's nightly close, if it has one.
func (e *engine) nightlyClose() (charge.Nightly, bool) {
	if e.tl.Policy.NightlyClose == "" {
		return charge.Nightly{}, false
	}
	n, err := charge.ParseNightly(e.tl.Policy.NightlyClose, time.UTC)
	return n, err == nil
}

// nightlyDue is when device d's next nightly instant falls, in its own clock's time, while
// a product runs on it.
func (e *engine) nightlyDue(d *device) (time.Time, bool) {
	n, ok := e.nightlyClose()
	if !ok || len(d.meter.Procs()) == 0 {
		return time.Time{}, false
	}
	x, _ := n.Next(d.meter.Now())
	return x, true
}

// nightly calls device d's nightly close for each instant its clock passed from prev to
// the reading r.
func (e *engine) nightly(d *device, prev time.Time, r charge.Reading) {
	n, ok := e.nightlyClose()
	if !ok || prev.IsZero() {
		return
	}
	for _, at := range n.Instants(prev, r.Wall) {
		e.effects(d, d.meter.Nightly(e.reading(d, e.now), at, e.ents(d)))
	}
}
