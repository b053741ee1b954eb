package store_test

import (
	"context"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// firstUseBatches are batches that tell a pair's first use out of order: a later batch
// with an earlier use, two uses of one pair in one batch, a retry, a denial (not a use)
// and a charge (a use).
func firstUseBatches(day0 time.Time) [][]api.Event {
	day := func(n int) time.Time { return day0.Add(time.Duration(n)*charge.Day + 9*time.Hour) }
	ev := func(id string, kind charge.Kind, user, product string, at time.Time) api.Event {
		e := api.Event{ID: id, Effect: charge.Effect{Kind: kind, At: at, User: user, Product: product}}
		if kind == charge.Charged {
			e.Key, e.Tokens = charge.Key{Team: "studio", User: user, Product: product, Start: at}, 10
		}
		return e
	}
	return [][]api.Event{
		{ev("a", charge.Opened, "mary", "revit", day(3))},
		{ev("b", charge.Opened, "mary", "revit", day(5)), ev("c", charge.Opened, "mary", "revit", day(1)), ev("d", charge.Denied, "bob", "revit", day(0))},
		{ev("c", charge.Opened, "mary", "revit", day(1).Add(-time.Hour))}, // a retry of c, with another time: a duplicate, not a use
		{ev("e", charge.Charged, "bob", "revit", day(4)), ev("f", charge.Opened, "bob", "revit", day(6))},
		{ev("g", charge.Opened, "mary", "revit", day(2))},
	}
}

// TestFirstUseOnlyMovesEarlier: the advisor's first use of each (user, product), kept by
// ingest, is the earliest opened or charged event the ledger took, whatever order the
// batches came in, on both stores.
func TestFirstUseOnlyMovesEarlier(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100_000)
		day0 := t0.Truncate(charge.Day).Add(charge.Day)
		for _, b := range firstUseBatches(day0) {
			must(t, err2(db.Ingest(ctx, "studio", "dv_1", b, day0.Add(8*charge.Day))))
		}
		checkFirstUse(t, db, day0, map[string]time.Time{
			"mary/revit": day0.Add(charge.Day + 9*time.Hour),
			"bob/revit":  day0.Add(4*charge.Day + 9*time.Hour),
		})
	})
}

// TestFirstUseMigration: migration 191 fills first_use from a ledger's history, the way
// migration 151's index answered before it.
func TestFirstUseMigration(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, kind)
			db, err := store.Open(ctx, url)
			must(t, err)
			fixture(t, db, 100_000)
			day0 := t0.Truncate(charge.Day).Add(charge.Day)
			for _, b := range firstUseBatches(day0) {
				must(t, err2(db.Ingest(ctx, "studio", "dv_1", b, day0.Add(8*charge.Day))))
			}
			// Back to the schema before 191, with its history.
			back := []string{`CREATE INDEX charges_team_user_start ON charges (team, user_id, start)`}
			if db.Dialect() == store.Postgres {
				back = nil // 191 keeps it there
			}
			for _, q := range append(back,
				`DROP TABLE first_use`,
				`CREATE INDEX events_first_use ON events (team, user_id, product, happened) WHERE kind IN ('opened', 'charged')`,
				`DELETE FROM schema_migrations WHERE version = 191`,
			) {
				if _, err := db.SQL().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			must(t, db.Close())
			db, err = store.Open(ctx, url)
			must(t, err)
			t.Cleanup(func() { db.Close() })
			checkFirstUse(t, db, day0, map[string]time.Time{
				"mary/revit": day0.Add(charge.Day + 9*time.Hour),
				"bob/revit":  day0.Add(4*charge.Day + 9*time.Hour),
			})
		})
	}
}

// checkFirstUse checks the advisor's first uses against want and against the oracle
// grouped over the events.
func checkFirstUse(t *testing.T, db *store.DB, day0 time.Time, want map[string]time.Time) {
	t.Helper()
	ctx := context.Background()
	oracle, err := db.FirstUse(ctx, "studio")
	must(t, err)
	sums, err := db.UseSummaries(ctx, "studio", day0, day0.Add(10*charge.Day))
	must(t, err)
	got := map[string]time.Time{}
	for _, s := range sums {
		k := s.User + "/" + s.Product
		got[k] = s.First
		if o := oracle[api.UseKey{User: s.User, Product: s.Product}]; !s.First.Equal(o) {
			t.Errorf("%s: got first use %v, the events say %v", k, s.First, o)
		}
	}
	for k, w := range want {
		if !got[k].Equal(w) {
			t.Errorf("%s: got first use %v, want %v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got first uses %v, want %v", got, want)
	}
}
