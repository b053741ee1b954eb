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

// nightlyDue is when device d's next nightly instant falls, in its own clock's time, while
// a product runs on it.
func (e *engine) nightlyDue(d *device) (time.Time, bool) {
	if e.night == nil || len(d.meter.Procs()) == 0 {
		return time.Time{}, false
	}
	x, _ := e.night.Next(d.meter.Now())
	return x, true
}

// nightly calls device d's nightly close for each instant its clock passed from prev to
// the reading r.
func (e *engine) nightly(d *device, prev time.Time, r charge.Reading) {
	if e.night == nil || prev.IsZero() {
		return
	}
	for _, at := range e.night.Instants(prev, r.Wall) {
		e.effects(d, d.meter.Nightly(e.reading(d, e.now), at, e.ents(d)))
	}
}
