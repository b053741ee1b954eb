package sim

import (
	"time"

	"tollgate/charge"
)

// The nightly close (policy nightly_close, rules.md "Nightly close") as the agent runs it:
// at each warning instant (15 minutes before) and close instant its clock passes, the
// meter's Nightly is called; a device that was asleep across one does not catch up. The
// simulator takes the time of day in UTC, the same on every device.

// nightlyTime parses "HH:MM".
func nightlyTime(hhmm string) (time.Time, bool) {
	t, err := time.Parse("15:04", hhmm)
	return t, err == nil && len(hhmm) == 5
}

// nightlyNext is the first warning or close instant of a nightly close at hhmm after t.
func nightlyNext(hhmm string, t time.Time) (time.Time, bool) {
	hm, ok := nightlyTime(hhmm)
	if !ok {
		return time.Time{}, false
	}
	t = t.UTC()
	for d := -1; d <= 1; d++ {
		day := t.AddDate(0, 0, d)
		at := time.Date(day.Year(), day.Month(), day.Day(), hm.Hour(), hm.Minute(), 0, 0, time.UTC)
		for _, x := range []time.Time{at.Add(-charge.RenewalNotice), at} {
			if x.After(t) {
				return x, true
			}
		}
	}
	return time.Time{}, false
}

// nightlyInstants is, for each warning or close instant in (from, to], its close instant.
func nightlyInstants(hhmm string, from, to time.Time) []time.Time {
	var out []time.Time
	for x, ok := nightlyNext(hhmm, from); ok && !x.After(to); x, ok = nightlyNext(hhmm, x) {
		out = append(out, closeOf(hhmm, x))
	}
	return out
}

// closeOf is the close instant that x is the warning or the close of.
func closeOf(hhmm string, x time.Time) time.Time {
	hm, _ := nightlyTime(hhmm)
	if x.Hour() == hm.Hour() && x.Minute() == hm.Minute() {
		return x
	}
	return x.Add(charge.RenewalNotice)
}

// nightlyDue is when device d's next nightly instant falls, in its own clock's time, while
// a product runs on it.
func (e *engine) nightlyDue(d *device) (time.Time, bool) {
	if e.tl.Policy.NightlyClose == "" || len(d.meter.Procs()) == 0 {
		return time.Time{}, false
	}
	return nightlyNext(e.tl.Policy.NightlyClose, d.meter.Now())
}

// nightly calls device d's nightly close for each instant its clock passed from prev to
// the reading r.
func (e *engine) nightly(d *device, prev time.Time, r charge.Reading) {
	if e.tl.Policy.NightlyClose == "" || prev.IsZero() {
		return
	}
	for _, at := range nightlyInstants(e.tl.Policy.NightlyClose, prev, r.Wall) {
		e.effects(d, d.meter.Nightly(e.reading(d, e.now), at, e.ents(d)))
	}
}
