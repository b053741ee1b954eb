package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// TestDecisionsPassTheTeamLock holds the team's row lock from another transaction, as an
// ingest does for the whole of a chunk, and makes launch decisions meanwhile: one that
// only holds or frees tokens goes through at once; one whose hold takes the team below
// its low-balance limit waits for the lock, then tells the admins once. PostgreSQL only:
// SQLite has one writer, and there a decision is first in line for it instead
// (TestWriterLetsUrgentFirst).
func TestDecisionsPassTheTeamLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, storetest.URL(t, "postgres"))
	must(t, err)
	t.Cleanup(func() { db.Close() })
	fixture(t, db, 100) // the low-balance limit: 20 % of 100
	for day := range 7 {
		st := t0.Add(time.Duration(day) * charge.Day)
		must(t, err2(db.Ingest(ctx, "studio", "dv_1", []api.Event{chargeEvent(fmt.Sprint("d", day), "mary", "revit", st, 10)}, st.Add(time.Hour))))
	}
	now := t0.Add(7 * charge.Day) // 30 available
	must(t, err2(db.PutUser(ctx, "studio", "ann", api.PutUser{})))

	chunk, err := db.SQL().BeginTx(ctx, nil)
	must(t, err)
	defer chunk.Rollback()
	if _, err := chunk.ExecContext(ctx, `SELECT id FROM teams WHERE id = 'studio' FOR NO KEY UPDATE`); err != nil {
		t.Fatal(err)
	}

	quick := []struct {
		name string
		do   func() error
		want int64 // available after it
	}{
		{"a launch in grace holds 10", func() error {
			a, err := db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit", Hold: "h1"}, now)
			if err == nil && a.Decision.Reason != charge.InGrace {
				err = fmt.Errorf("got %s, want %s", a.Decision.Reason, charge.InGrace)
			}
			return err
		}, 20},
		{"its release", func() error { return db.Release(ctx, "studio", "dv_1", "h1", now) }, 30},
		{"the same launch again", func() error {
			return err2(db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit", Hold: "h2"}, now))
		}, 20},
	}
	for _, tt := range quick {
		if err := tt.do(); err != nil {
			t.Fatalf("%s while an ingest holds the team: %v", tt.name, err)
		}
		if got := available(t, db, "studio", now); got != tt.want {
			t.Errorf("%s: got %d available, want %d", tt.name, got, tt.want)
		}
	}

	// 20 available, limit 20: ann's hold takes the team below it.
	type result struct {
		a   api.Authorized
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := db.Authorize(ctx, "studio", "dv_2", api.Authorize{User: "ann", Product: "revit", Hold: "h3"}, now)
		done <- result{a, err}
	}()
	for waiting := false; !waiting; {
		select {
		case r := <-done:
			t.Fatalf("a launch that takes the team below its limit was decided without the team's lock: %+v %v", r.a.Decision, r.err)
		case <-ctx.Done():
			t.Fatal("the launch never waited for the team's lock")
		case <-time.After(10 * time.Millisecond):
		}
		err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM teams%')`).Scan(&waiting)
		must(t, err)
	}
	must(t, chunk.Commit())
	r := <-done
	if r.err != nil || r.a.Decision.Reason != charge.InGrace {
		t.Fatalf("after the lock: got %+v %v, want grace", r.a.Decision, r.err)
	}
	ns, err := db.Notifications(ctx, "studio")
	must(t, err)
	var got []string
	for _, n := range ns {
		got = append(got, string(n.Kind))
	}
	if want := []string{"low_balance"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notices: got %v, want %v", got, want)
	}
	if err := db.Verify(ctx); err != nil {
		t.Errorf("Verify: %v", err)
	}
}
