package charge

import (
	"fmt"
	"time"
)

// Nightly is policy nightly_close: a time of day at which the products idle then are
// closed, announced RenewalNotice before. The agent reads it in the workstation's time
// zone, the simulator in UTC; both find its instants here, so they cannot drift apart.
type Nightly struct {
	hour, minute int
	loc          *time.Location
}

// nightlyCatchUp bounds how far back a clock that jumped (a workstation waking after a
// long sleep) looks for instants it passed: one night and a day, never a week of nights.
const nightlyCatchUp = 48 * time.Hour

// ParseNightly reads hhmm, a 24-hour "HH:MM" such as "02:00", as a time of day in loc.
func ParseNightly(hhmm string, loc *time.Location) (Nightly, error) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil || len(hhmm) != 5 {
		return Nightly{}, fmt.Errorf("%q: write a time of day as HH:MM, like \"02:00\", or leave it out", hhmm)
	}
	return Nightly{hour: t.Hour(), minute: t.Minute(), loc: loc}, nil
}

// on is the close instant of calendar day y-m-d in n's zone. On a night whose clocks skip
// the close time (02:30 where 02:00 jumps to 03:00), time.Date may give the instant an hour
// early (01:30 by the clock); it is moved to when the clock shows the time again, 03:30,
// so a product is never closed before the time its admin set.
func (n Nightly) on(y int, m time.Month, d int) time.Time {
	at := time.Date(y, m, d, n.hour, n.minute, 0, 0, n.loc)
	short := (n.hour*60 + n.minute) - (at.Hour()*60 + at.Minute())
	if short < 0 {
		short += 24 * 60 // a zone whose clocks jump at midnight: 00:30 given as 23:30 the day before
	}
	at = at.Add(time.Duration(short) * time.Minute)
	return at
}

// Next is the first warning or close instant after t, and the close instant it belongs to.
// Days are counted on n's calendar, not as 24 hours, so a 23- or 25-hour day (a change of
// summer time) neither skips a night nor doubles one.
func (n Nightly) Next(t time.Time) (instant, close time.Time) {
	y, m, day := t.In(n.loc).Date()
	for d := 0; d <= 2; d++ {
		at := n.on(y, m, day+d)
		for _, x := range []time.Time{at.Add(-RenewalNotice), at} {
			if x.After(t) {
				return x, at
			}
		}
	}
	panic("unreachable: a close instant falls on every day")
}

// Instants is, in order, the close instant of each warning or close instant in (from, to]:
// the agent and the simulator call the meter's Nightly with each as their clock passes it.
// A clock that jumped further than nightlyCatchUp only looks that far back.
func (n Nightly) Instants(from, to time.Time) []time.Time {
	if from.Before(to.Add(-nightlyCatchUp)) {
		from = to.Add(-nightlyCatchUp)
	}
	var out []time.Time
	for x, at := n.Next(from); !x.After(to); x, at = n.Next(x) {
		out = append(out, at)
	}
	return out
}
