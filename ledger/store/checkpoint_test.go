package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// sumBefore is the opening balance the slow way: every movement of the team before at.
func sumBefore(t *testing.T, db *store.DB, team string, at int64) int64 {
	t.Helper()
	q := `SELECT COALESCE(SUM(tokens - debt), 0) FROM movements WHERE team = ? AND happened < ?`
	if db.Dialect() == store.Postgres {
		q = `SELECT COALESCE(SUM(tokens - debt), 0) FROM movements WHERE team = $1 AND happened < $2`
	}
	var n int64
	if err := db.SQL().QueryRowContext(context.Background(), q, team, at).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckpointsEqualFullSum applies random purchases and charges, in batches, at
// ledger times that jump back as well as forward (a second ledger whose clock is behind)
// and for windows started days before they are sent, and checks after every step that
// the checkpointed opening balance equals the sum of every movement before it, at
// midnights, at movement times and between them.
func TestCheckpointsEqualFullSum(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 500)
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 15))
		users := []string{"mary"}
		for i := range 4 {
			u := fmt.Sprint("u", i)
			must(t, err2(db.PutUser(ctx, "studio", u, api.PutUser{})))
			users = append(users, u)
		}
		base := t0.Truncate(charge.Day).Add(2 * charge.Day)
		const span = 12 * charge.Day
		var times []time.Time
		n := 0
		for step := range 60 {
			now := base.Add(time.Duration(rng.Int64N(int64(span))))
			if step%7 == 3 {
				now = now.Truncate(charge.Day) // a movement exactly at midnight
			}
			what := "charges"
			switch rng.IntN(5) {
			case 0:
				what = "pack"
				must(t, err2(db.BuyPack(ctx, "studio", api.BuyPack{Tokens: 100 + rng.Int64N(900)}, now)))
			default:
				var batch []api.Event
				for range 1 + rng.IntN(4) {
					n++
					// Windows started up to three days before they reach the ledger.
					start := now.Add(-time.Duration(rng.Int64N(int64(3 * charge.Day))))
					ev := chargeEvent(fmt.Sprint("e", n), users[rng.IntN(len(users))], "revit", start, 10)
					ev.At = now
					batch = append(batch, ev)
				}
				rs, err := db.Ingest(ctx, "studio", "dv_1", batch, now)
				if err != nil {
					t.Fatalf("step %d: ingest at %s: %v", step, now, err)
				}
				for _, r := range rs {
					if r.Status == api.Refused {
						t.Fatalf("step %d: %s refused: %s", step, r.ID, r.Message)
					}
				}
			}
			times = append(times, now)
			var probes []time.Time
			for d := base.Add(-charge.Day); !d.After(base.Add(span + charge.Day)); d = d.Add(charge.Day) {
				probes = append(probes, d, d.Add(time.Nanosecond), d.Add(-time.Nanosecond))
			}
			for _, at := range times {
				probes = append(probes, at, at.Add(time.Nanosecond), at.Add(-time.Nanosecond))
			}
			for range 10 {
				probes = append(probes, base.Add(time.Duration(rng.Int64N(int64(span)))))
			}
			for _, at := range probes {
				got, err := db.BalanceAt(ctx, "studio", at)
				if err != nil {
					t.Fatal(err)
				}
				if want := sumBefore(t, db, "studio", at.UnixNano()); got != want {
					t.Fatalf("step %d (%s at %s): balance before %s: got %d from the checkpoints, want %d summed from the start",
						step, what, now.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), got, want)
				}
			}
		}
		// Migration 141's fill of the checkpoints from the movements (also
		// RebuildCheckpoints, after a bulk load) gives exactly what the trigger kept.
		kept := checkpoints(t, db)
		must(t, db.RebuildCheckpoints(ctx))
		if got := checkpoints(t, db); !reflect.DeepEqual(got, kept) {
			t.Errorf("checkpoints rebuilt from the movements: got %v, want the trigger's %v", got, kept)
		}
		if len(kept) < 5 {
			t.Errorf("%d checkpoints after movements on many days; want one a day", len(kept))
		}

		// The report shows the same opening balance: its first row's balance less its
		// own amount.
		from := base.Add(5 * charge.Day)
		rep, err := db.Tokens(ctx, "studio", from, base.Add(span), base.Add(span))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.History) == 0 {
			t.Fatalf("history from %s: no movements; want some", from)
		}
		m := rep.History[0]
		if got, want := m.Balance-(m.Tokens-m.Debt), sumBefore(t, db, "studio", from.UnixNano()); got != want {
			t.Errorf("report's opening balance: got %d, want %d", got, want)
		}
		last := rep.History[len(rep.History)-1]
		if got, want := last.Balance, sumBefore(t, db, "studio", last.At.UnixNano()+1); got != want {
			t.Errorf("report's closing balance: got %d, want %d", got, want)
		}
	})
}

// TestBalanceAtUnknownTeam: a report of a team that does not exist says so.
func TestBalanceAtUnknownTeam(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		_, err := db.BalanceAt(context.Background(), "nobody", t0)
		if got, want := codeOf(err), api.CodeNotFound; got != want {
			t.Errorf("got code %q (%v), want %q", got, err, want)
		}
	})
}

func checkpoints(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT team, day, balance FROM balance_checkpoints`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var team string
		var day, balance int64
		if err := rows.Scan(&team, &day, &balance); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(team, "/", time.Unix(0, day).UTC().Format(time.DateOnly))] = balance
	}
	return out
}
