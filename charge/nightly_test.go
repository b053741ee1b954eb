package charge_test

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the summer-time cases do not depend on the machine's zone files

	"tollgate/charge"
)

func TestParseNightly(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"02:00", true}, {"23:59", true}, {"00:00", true},
		{"2:00", false}, {"24:00", false}, {"02:60", false}, {"0200", false}, {"02:00 ", false}, {"2am", false}, {"", false},
	}
	for _, tt := range tests {
		_, err := charge.ParseNightly(tt.in, time.UTC)
		if got := err == nil; got != tt.want {
			t.Errorf("ParseNightly(%q): got ok %v (%v), want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestNightlyInstants: the instants the agent and the simulator pass to the meter's
// Nightly as their clock moves from one look to the next: the close instant once for its
// warning (15 min before) and once for itself, none twice across successive looks, and no
// more than two days' worth after a long sleep.
func TestNightlyInstants(t *testing.T) {
	n, err := charge.ParseNightly("02:00", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		from, to time.Time
		want     []time.Time
	}{
		{"the warning passed", day(2, 1, 40), day(2, 1, 50), []time.Time{day(2, 2, 0)}},
		{"warning and close passed", day(2, 1, 40), day(2, 2, 0), []time.Time{day(2, 2, 0), day(2, 2, 0)}},
		{"from the warning itself: only the close", day(2, 1, 45), day(2, 2, 5), []time.Time{day(2, 2, 0)}},
		{"after the close", day(2, 2, 0), day(2, 9, 0), nil},
		{"across midnight, before the warning", day(1, 23, 0), day(2, 1, 44), nil},
		{"a whole day", day(1, 12, 0), day(2, 12, 0), []time.Time{day(2, 2, 0), day(2, 2, 0)}},
		{"asleep five days: the last two only", day(1, 12, 0), day(6, 12, 0),
			[]time.Time{day(5, 2, 0), day(5, 2, 0), day(6, 2, 0), day(6, 2, 0)}},
		{"a clock set back", day(2, 3, 0), day(2, 1, 0), nil},
	}
	for _, tt := range tests {
		if got := n.Instants(tt.from, tt.to); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Instants(%s, %s): got %v, want %v", tt.name, tt.from, tt.to, got, tt.want)
		}
	}
}

// TestNightlySummerTime: in the workstation's zone, each calendar night has one close and
// one warning, on the 23-hour and the 25-hour day as on any other, including a close time
// that the spring-forward night skips (02:30 in New York on 8 March 2026) and one that the
// fall-back night has twice (01:30 on 1 November 2026).
func TestNightlySummerTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		hhmm       string
		start, end time.Time
	}{
		{"02:30", time.Date(2026, 3, 5, 12, 0, 0, 0, ny), time.Date(2026, 3, 11, 12, 0, 0, 0, ny)},
		{"23:30", time.Date(2026, 3, 5, 12, 0, 0, 0, ny), time.Date(2026, 3, 11, 12, 0, 0, 0, ny)},
		{"01:30", time.Date(2026, 10, 29, 12, 0, 0, 0, ny), time.Date(2026, 11, 4, 12, 0, 0, 0, ny)},
		{"00:10", time.Date(2026, 10, 29, 12, 0, 0, 0, ny), time.Date(2026, 11, 4, 12, 0, 0, 0, ny)},
	} {
		n, err := charge.ParseNightly(tt.hhmm, ny)
		if err != nil {
			t.Fatal(err)
		}
		closes := map[string]int{}
		instants := 0
		// An agent looking every 7 minutes, as a tick might, from start to end.
		for prev, now := tt.start, tt.start.Add(7*time.Minute); !now.After(tt.end); prev, now = now, now.Add(7*time.Minute) {
			for _, at := range n.Instants(prev, now) {
				instants++
				closes[at.In(ny).Format("2006-01-02")]++
			}
		}
		if got, want := instants, 12; got != want {
			t.Errorf("%s: got %d instants over six nights, want %d (a warning and a close each)", tt.hhmm, got, want)
		}
		for d, c := range closes {
			if c != 2 {
				t.Errorf("%s: night of %s has %d instants, want 2: %v", tt.hhmm, d, c, closes)
			}
		}
	}
}

// TestNightlyNext: the next instant after a moment late on the evening before a 23-hour day
// is that day's, not the day after's (a day is a calendar day, not 24 hours); a close time
// the spring-forward night skips falls when the clock shows it, never before.
func TestNightlyNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, ny) }
	tests := []struct {
		hhmm              string
		from              time.Time
		wantNext, wantFor time.Time
	}{
		{"23:30", at(3, 7, 23, 40), at(3, 8, 23, 15), at(3, 8, 23, 30)},
		{"23:30", at(3, 8, 23, 20), at(3, 8, 23, 30), at(3, 8, 23, 30)},
		{"00:10", at(10, 31, 23, 56), at(11, 1, 0, 10), at(11, 1, 0, 10)},
		{"00:10", at(11, 1, 0, 15), at(11, 1, 23, 55), at(11, 2, 0, 10)},
		// 02:30 does not exist that night: the close is at 03:30 by the clock, 7:30 UTC.
		{"02:30", at(3, 8, 0, 0), time.Date(2026, 3, 8, 7, 15, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		n, err := charge.ParseNightly(tt.hhmm, ny)
		if err != nil {
			t.Fatal(err)
		}
		if next, close := n.Next(tt.from); !next.Equal(tt.wantNext) || !close.Equal(tt.wantFor) {
			t.Errorf("%s: Next(%s): got %s (close %s), want %s (close %s)", tt.hhmm, tt.from, next, close, tt.wantNext, tt.wantFor)
		}
	}
}

// TestNightlyMidnightJump: where summer time starts at midnight (Santiago, 6 September
// 2026: 00:00 becomes 01:00), a close at 00:30 falls at 01:30 by the clock, not on the
// evening before.
func TestNightlyMidnightJump(t *testing.T) {
	scl, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	n, err := charge.ParseNightly("00:30", scl)
	if err != nil {
		t.Fatal(err)
	}
	_, got := n.Next(time.Date(2026, 9, 5, 12, 0, 0, 0, scl))
	if want := time.Date(2026, 9, 6, 1, 30, 0, 0, scl); !got.Equal(want) {
		t.Errorf("Next close: got %s, want %s", got, want)
	}
}
