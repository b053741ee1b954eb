package store_test

import (
	"context"
	"slices"
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

// TestFirstUseMigration: migration 191 fills first_use and latest_windows from a ledger's
// history, the way migration 151's and 141's indexes answered before it (Verify checks
// latest_windows against the charges).
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
			for _, q := range []string{
				`DROP TABLE first_use`,
				`DROP TABLE latest_windows`,
				`CREATE INDEX events_first_use ON events (team, user_id, product, happened) WHERE kind IN ('opened', 'charged')`,
				`CREATE INDEX charges_team_user_start ON charges (team, user_id, start)`,
				`DELETE FROM schema_migrations WHERE version = 191`,
			} {
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
			var n int
			must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM latest_windows`).Scan(&n))
			if n == 0 {
				t.Errorf("latest_windows: got no rows after the migration, want the charges' latest")
			}
			must(t, db.Verify(ctx))
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

// TestLatestWindows: the windows a launch is decided with (read from latest_windows) are
// the user's windows that started within a day, whatever order their charges came in:
// a later window before an earlier one, two windows of one product in one batch, a
// duplicate. Verify, after each test, checks latest_windows against the charges.
func TestLatestWindows(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100_000)
		day0 := t0.Truncate(charge.Day).Add(charge.Day)
		at := func(d int, h time.Duration) time.Time { return day0.Add(time.Duration(d)*charge.Day + h) }
		ch := func(id, product string, start time.Time) api.Event {
			tokens := map[string]int64{"revit": 10, "autocad": 7}[product]
			return api.Event{ID: id, Effect: charge.Effect{Kind: charge.Charged, At: start.Add(charge.Grace), User: "bob", Product: product,
				Key: charge.Key{Team: "studio", User: "bob", Product: product, Start: start}, Tokens: tokens}}
		}
		now := at(3, 12*time.Hour)
		for _, b := range [][]api.Event{
			{ch("r3", "revit", at(3, 9*time.Hour))},
			{ch("r1", "revit", at(1, 9*time.Hour)), ch("a1", "autocad", at(1, 8*time.Hour)), ch("a2", "autocad", at(2, 20*time.Hour))},
			{ch("r2", "revit", at(2, 9*time.Hour)), ch("r3", "revit", at(3, 9*time.Hour))},
		} {
			rs, err := db.Ingest(ctx, "studio", "dv_1", b, now)
			must(t, err)
			for _, r := range rs {
				if r.Status != api.Accepted && r.Status != api.Duplicate {
					t.Fatalf("%s: got %s %s, want accepted", r.ID, r.Status, r.Message)
				}
			}
		}
		e, err := db.Entitlement(ctx, "studio", "bob", now)
		must(t, err)
		var got []string
		for _, w := range e.Windows {
			got = append(got, w.Key.Product+" "+w.Key.Start.Format(time.DateTime))
		}
		want := []string{"autocad " + at(2, 20*time.Hour).Format(time.DateTime), "revit " + at(3, 9*time.Hour).Format(time.DateTime)}
		if !slices.Equal(got, want) {
			t.Errorf("windows open at %v: got %v, want %v", now, got, want)
		}
	})
}
