//go:build linux

package agent_test

import (
	"bufio"
	"context"
	"database/sql"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"tollgate/agent/agenttest"
	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/ledgertest"
	"tollgate/ledger/store/storetest"
)

// A ledger busy applying another device's events answers this agent's batch 429 with
// Retry-After; the agent comes back after that long by its own clock (the test's file
// clock, which stands still until the test moves it), not sooner, and then its events
// are taken, each exactly once.
func TestSyncHonoursRetryAfter(t *testing.T) {
	db := storetest.URL(t, "postgres")
	dir := t.TempDir()
	clock := agenttest.NewClock(t, dir)
	l := ledgertest.StartWith(t, bins.Tollgate, db, clock.Path, "--max-ingests", "1", "--ingest-queue", "0")
	tok := l.Studio(100, "root@studio.example")
	l.CLI("team", "create", "other")
	other := l.Device(t, strings.TrimSpace(strings.SplitN(l.CLI("enroll-token", "create", "--team", "other"), "\n", 2)[0]), "other-pc")

	r := newRig(t, 0, func(o *agenttest.Options) { o.LedgerURL, o.EnrollToken, o.Clock = l.URL, tok, clock })
	r.Start()
	r.WaitFor("enrolled", func(st localapi.Status) bool { return st.Ledger != nil && st.Ledger.Enrolled && st.Ledger.Online })

	// Team other's row locked from outside: the other device's batch is admitted and
	// waits on it, taking the ledger's one ingest slot. Team studio is not locked, so its
	// launches are still decided.
	sqlDB, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	ctx := context.Background()
	lock, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `SELECT id FROM teams WHERE id = 'other' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	flood := make(chan error, 1)
	go func() {
		_, err := other.Ingest(ctx, []api.Event{{ID: "o1", Effect: charge.Effect{Kind: charge.Opened, At: agenttest.Day1, User: "x@other.example", Product: "revit", Reason: charge.InGrace}}})
		flood <- err
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := sqlDB.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other device's batch never reached team other's lock\n%s", l.Log())
		}
	}
	r.Launch("bin/revit")
	r.WaitFor("revit in grace", func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "grace"
	})
	waitMetric(t, l, "tollgate_ledger_ingests_paced_total", 1)
	ra := retryAfterLogged(t, r)

	// The slot is free again, but the agent's clock has not moved: it stays away.
	lock.Rollback()
	if err := <-flood; err != nil {
		t.Fatalf("the other device's batch: %v", err)
	}
	time.Sleep(ra + 500*time.Millisecond) // real time past the Retry-After: a timer would have fired
	if got := metric(t, l, "tollgate_ledger_ingests_paced_total"); got != 1 {
		t.Errorf("got %v batches paced, want 1: the agent came back before its clock moved", got)
	}
	if st := r.Settled(func(localapi.Status) bool { return true }); st.Backlog == 0 {
		t.Fatalf("got an empty backlog with the clock standing still, want the events waiting out the Retry-After")
	}
	if ra > time.Second {
		r.SetClock(r.Now().Add(ra - time.Second)) // a second short
		time.Sleep(300 * time.Millisecond)
		if st := r.Settled(func(localapi.Status) bool { return true }); st.Backlog == 0 {
			t.Fatalf("got the events sent %v into a Retry-After of %v, want the agent to wait it out", ra-time.Second, ra)
		}
		r.SetClock(r.Now().Add(time.Second))
	} else {
		r.SetClock(r.Now().Add(ra))
	}
	r.WaitFor("the backlog sent", func(st localapi.Status) bool { return st.Backlog == 0 })

	// Grace runs out: the charge is taken once.
	r.SetClock(agenttest.Day1.Add(6 * time.Minute))
	r.WaitFor("the charge sent", func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid" && st.Backlog == 0
	})
	if got := l.Charges("studio"); len(got) != 1 || !strings.HasSuffix(got[0], " 10") {
		t.Errorf("got charges %v, want revit's one window of 10", got)
	}
	r.Stop()
	entries := r.Entries()
	rows, err := sqlDB.QueryContext(ctx, `SELECT id FROM events WHERE team = 'studio'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		_, entry, _ := strings.Cut(id, "/")
		stored[entry]++
	}
	// A hold the ledger placed at authorize is answered then, and not sent again.
	entries = slices.DeleteFunc(entries, func(e journal.Entry) bool { return e.Answer == "held" })
	if len(stored) != len(entries) {
		t.Errorf("got %d events on the ledger, want the journal's %d sent", len(stored), len(entries))
	}
	for _, e := range entries {
		if stored[e.ID] != 1 {
			t.Errorf("journal entry %s (%s): got %d on the ledger, want 1", e.ID, e.Effect.Kind, stored[e.ID])
		}
	}
}

// retryAfterLogged is the wait the agent logged when the ledger paced it.
func retryAfterLogged(t *testing.T, r *agenttest.Rig) time.Duration {
	t.Helper()
	re := regexp.MustCompile(`sync paced by the ledger.*"retry_after":\s*"?([0-9.]+m?s?)"?`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(r.LogTail()); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				return d
			}
			if f, err := strconv.ParseFloat(m[1], 64); err == nil {
				return time.Duration(f * float64(time.Second))
			}
			t.Fatalf("retry_after %q in the agent's log: not a duration", m[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the agent did not log being paced\n%s", r.LogTail())
	return 0
}

// metric reads a counter from the ledger's /metrics; 0 when absent.
func metric(t *testing.T, l *ledgertest.Proc, name string) float64 {
	t.Helper()
	resp, err := http.Get(l.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// waitMetric waits until the counter reaches at least want.
func waitMetric(t *testing.T, l *ledgertest.Proc, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, l, name) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed below %v\n%s", name, want, l.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
