package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestTimeRoundTrip stores times at both edges of the accepted range, and a nanosecond
// inside them, and reads them back unchanged. Fails on the code before the range: it
// had no edges to test, and 1970 and 9999 did not round-trip (see TestTimeOutOfRange).
func TestTimeRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		lo, hi := charge.MinTime(), charge.MaxTime()
		subs := []charge.Subscription{
			{Product: "revit", From: lo, Until: hi},
			{Product: "revit", From: lo.Add(time.Nanosecond), Until: hi.Add(-time.Nanosecond)},
			{Product: "revit", From: hi.Add(-time.Nanosecond)}, // open-ended, from the last instant
		}
		for _, s := range subs {
			if _, err := db.AddSubscription(ctx, "studio", "bob", s); err != nil {
				t.Fatalf("AddSubscription(%v..%v): got %v, want it stored", s.From, s.Until, err)
			}
		}
		u, err := db.User(ctx, "studio", "bob")
		must(t, err)
		if len(u.Subscriptions) != len(subs) {
			t.Fatalf("subscriptions read back: got %d, want %d", len(u.Subscriptions), len(subs))
		}
		for i, want := range subs {
			got := u.Subscriptions[i]
			if !got.From.Equal(want.From) || !got.Until.Equal(want.Until) || got.Product != want.Product {
				t.Errorf("subscription %d: got %v..%v, want %v..%v", i, got.From, got.Until, want.From, want.Until)
			}
		}

		// Charges at both edges: the ledger's clock just after the window starts.
		for i, start := range []time.Time{lo, hi.Add(-time.Hour)} {
			now := start.Add(time.Hour)
			ev := chargeEvent("edge"+string(rune('a'+i)), "mary", "revit", start, 10)
			rs, err := db.Ingest(ctx, "studio", "dv_1", []api.Event{ev}, now)
			if err != nil || rs[0].Status != api.Accepted {
				t.Fatalf("charge at %v: got %+v %v, want accepted", start, rs, err)
			}
			e, err := db.Entitlement(ctx, "studio", "mary", now)
			must(t, err)
			if len(e.Windows) != 1 || !e.Windows[0].Key.Start.Equal(start) || e.Windows[0].Tokens != 10 {
				t.Errorf("window read back at %v: got %+v, want one of 10 tokens starting %v", now, e.Windows, start)
			}
		}
	})
}

// TestTimeOutOfRange: times outside 2000-01-01..2200-01-01 are refused with the range
// in the message, and nothing is stored. Before the range, 9999-12-31 was stored as
// 1816-03-29 and 1970-01-01 as "no end".
func TestTimeOutOfRange(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		lo, hi := charge.MinTime(), charge.MaxTime()
		epoch := time.Unix(0, 0).UTC()
		forever := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		subs := []struct {
			name        string
			from, until time.Time
		}{
			{"until 9999-12-31", t0, forever},
			{"until 1970-01-01 from 1960", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), epoch},
			{"from 1970-01-01", epoch, t0},
			{"from a nanosecond before 2000", lo.Add(-time.Nanosecond), t0},
			{"until a nanosecond after 2200", t0, hi.Add(time.Nanosecond)},
		}
		for _, s := range subs {
			_, err := db.AddSubscription(ctx, "studio", "bob", charge.Subscription{Product: "revit", From: s.from, Until: s.until})
			if codeOf(err) != api.CodeBadRequest || !strings.Contains(err.Error(), "2000-01-01 to 2200-01-01") {
				t.Errorf("%s: got %v, want bad_request naming the range 2000-01-01 to 2200-01-01", s.name, err)
			}
		}
		u, err := db.User(ctx, "studio", "bob")
		must(t, err)
		if len(u.Subscriptions) != 0 {
			t.Errorf("after refused subscriptions: got %+v, want none stored", u.Subscriptions)
		}

		// An event dated out of range, with the ledger's clock there too (a ledger whose
		// clock is wrong must still not store what it cannot read back).
		for _, at := range []time.Time{lo.Add(-time.Hour), hi.Add(time.Hour)} {
			ev := chargeEvent("x", "mary", "revit", at, 10)
			_, err := db.Ingest(ctx, "studio", "dv_1", []api.Event{ev}, at.Add(time.Minute))
			if codeOf(err) != api.CodeInvalidEvents {
				t.Errorf("charge at %v: got %v, want invalid_events", at, err)
			}
		}
		if got := available(t, db, "studio", t0); got != 100 {
			t.Errorf("available after refused charges: got %d, want 100", got)
		}
	})
}
