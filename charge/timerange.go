package charge

import (
	"fmt"
	"time"
)

// The times tollgate accepts, MinTime to MaxTime anywhere (a subscription's dates, an event's time, a
// report's span, a simulated timeline): from 2000-01-01 to 2200-01-01 UTC, both
// included. Both ends lie well inside what a store can keep exactly (Unix nanoseconds
// in 64 bits cover 1678 to 2262), so whatever is accepted reads back unchanged; and the
// range leaves out 1970-01-01, which a store would read as "no time" (an open-ended
// subscription), and year-9999 "forever" dates, which would overflow.
const (
	minUnix = 946684800  // 2000-01-01T00:00:00Z
	maxUnix = 7258118400 // 2200-01-01T00:00:00Z
)

// MinTime is the earliest time accepted.
func MinTime() time.Time { return time.Unix(minUnix, 0).UTC() }

// MaxTime is the latest time accepted.
func MaxTime() time.Time { return time.Unix(maxUnix, 0).UTC() }

// CheckTime reports a time outside MinTime..MaxTime, naming it what and saying which
// range is accepted.
func CheckTime(what string, t time.Time) error {
	if t.Before(MinTime()) || t.After(MaxTime()) {
		return fmt.Errorf("%s %s is outside the dates tollgate accepts: give a time from %s to %s (UTC); for a subscription without an end, leave the end out",
			what, t.UTC().Format(time.RFC3339), MinTime().Format(time.DateOnly), MaxTime().Format(time.DateOnly))
	}
	return nil
}
