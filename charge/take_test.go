package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

// TestTake walks one pool and book through each verdict of rule 5, in order, as the
// ledger's store and the simulator both meet them (they call Take and nothing else).
func TestTake(t *testing.T) {
	day := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	pack, err := charge.NewPack("p1", "studio", 100, day.AddDate(0, -1, 0))
	if err != nil {
		t.Fatal(err)
	}
	pool := &charge.Pool{Team: "studio", Holds: map[string]int64{}}
	pool.Add(pack, day)
	book := charge.NewBook()
	key := func(user, product string, start time.Time) charge.Key {
		return charge.Key{Team: "studio", User: user, Product: product, Start: start}
	}
	mary := key("mary", "revit", day)

	tests := []struct {
		name      string
		hold      int64 // placed under the claim's hold before it is taken
		claim     charge.Claim
		want      charge.Verdict
		wantStart time.Time // the window the verdict names
		wantAvail int64     // the pool's available tokens after, less its debt
	}{
		{"a new window is debited, consuming its hold", 10,
			charge.Claim{Key: mary, Tokens: 10, Device: "ws1", Hold: "h1", Rate: 10}, charge.TakeAccepted, day, 90},
		{"the same key and tokens again: a duplicate, debited once", 10,
			charge.Claim{Key: mary, Tokens: 10, Device: "ws1", Hold: "h2", Rate: 10}, charge.TakeDuplicate, day, 90},
		{"the same key with other tokens: a conflict", 0,
			charge.Claim{Key: mary, Tokens: 12, Device: "ws1", Hold: "h3"}, charge.TakeConflict, day, 90},
		{"tokens other than the rate in force: refused", 7,
			charge.Claim{Key: key("mary", "autocad", day), Tokens: 5, Device: "ws1", Hold: "h4", Rate: 7}, charge.TakeWrongRate, day, 90},
		{"an overlapping window from another device: folded into the first", 10,
			charge.Claim{Key: key("mary", "revit", day.Add(3*time.Hour)), Tokens: 10, Device: "ws2", Hold: "h5", Rate: 10}, charge.TakeFolded, day, 90},
		{"more than the pool has, no overdraw: short, nothing changed", 0,
			charge.Claim{Key: key("paul", "revit", day), Tokens: 95, Device: "ws3", Hold: "h6"}, charge.TakeShort, day, 90},
		{"the same, overdrawn (a renewal): debited, the rest as debt", 0,
			charge.Claim{Key: key("paul", "revit", day), Tokens: 95, Device: "ws3", Hold: "h7", Overdraw: true}, charge.TakeAccepted, day, -5},
		{"the window after a paid one: a window of its own", 0,
			charge.Claim{Key: key("mary", "revit", day.Add(charge.Day)), Tokens: 10, Device: "ws1", Hold: "h8", Overdraw: true}, charge.TakeAccepted, day.Add(charge.Day), -15},
	}
	for _, tt := range tests {
		if tt.hold > 0 {
			pool.Hold(tt.claim.Hold, tt.hold)
		}
		got := charge.Take(pool, book, tt.claim, day.Add(5*time.Hour))
		if got.Verdict != tt.want || !got.Window.Key.Start.Equal(tt.wantStart) {
			t.Errorf("%s: got %s of the window at %v (%v), want %s of the window at %v", tt.name, got.Verdict, got.Window.Key.Start, got.Err, tt.want, tt.wantStart)
		}
		if _, held := pool.Holds[tt.claim.Hold]; held {
			t.Errorf("%s: got hold %s still held after %s, want it consumed or released", tt.name, tt.claim.Hold, got.Verdict)
		}
		if avail := pool.Available(day.Add(5 * time.Hour)); avail != tt.wantAvail {
			t.Errorf("%s: got %d available, want %d", tt.name, avail, tt.wantAvail)
		}
	}
}
