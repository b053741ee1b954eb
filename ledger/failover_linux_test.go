package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store"
)

// TestFailoverLosesNoAcknowledgedCharge is the failover of docs/deploying.md on real
// processes: a primary with a synchronous streaming replica, two `tollgate ledger serve`
// processes given both through one multi-host URL with target_session_attrs=read-write,
// and devices posting charge batches through either ledger, each batch retried until it
// is acknowledged, as the agent retries its journal. Mid-ingest the primary and all its
// processes are killed with SIGKILL and the replica is promoted; the ledgers reconnect by
// themselves. At the end every charge a device saw acknowledged is on the promoted
// primary exactly once, and the team's balance is the pack less exactly those charges.
//
// TOLLGATE_FAILOVER_DEVICES and TOLLGATE_FAILOVER_BATCHES make it larger:
// scripts/test-failover runs a longer one on demand.
func TestFailoverLosesNoAcknowledgedCharge(t *testing.T) {
	devices := envInt(t, "TOLLGATE_FAILOVER_DEVICES", 8)
	batches := envInt(t, "TOLLGATE_FAILOVER_BATCHES", 12) // per device, 4 charges each
	const perBatch = 4
	ctx := context.Background()
	t0 := time.Now()
	ha := newHAPair(t, "tollgate")
	t.Logf("%v: primary and synchronous replica up", time.Since(t0))
	procs := startLedgers(t, ha.url("tollgate"), 2)
	tok := adminToken(t, procs)
	var es []*env
	for _, p := range procs {
		es = append(es, &env{url: p.url, super: client.New(p.url, tok, nil)})
	}
	es[0].studio(t, "studio", charge.MaxPack)
	var creds []string
	for d := range devices {
		do(t, es[0].super, "PUT", fmt.Sprintf("/v1/admin/teams/studio/users/u%d.studio", d), api.PutUser{}, nil)
		creds = append(creds, client.Token(es[d%2].device(t, "studio", fmt.Sprint("pc", d))))
	}
	before := es[1].balance(t, "studio")
	t.Logf("%v: ledgers up, %d devices enrolled", time.Since(t0), devices)

	// Each device charges its own user one Revit day after another, in the past (the
	// processes run on the real clock), so no two charges share a key.
	base := time.Now().UTC().Add(-time.Duration(batches*perBatch+2) * charge.Day).Truncate(time.Hour)
	var acked, failures atomic.Int64
	var mu sync.Mutex
	got := map[string]string{} // event id -> the status a ledger acknowledged it with
	killAt := int64(devices * batches / 3)
	killed, promoted := make(chan struct{}), make(chan struct{})
	var ackedBeforeKill, ackedAfterPromote atomic.Int64
	var wg sync.WaitGroup
	for d := range devices {
		wg.Go(func() {
			user := fmt.Sprintf("u%d.studio", d)
			for b := range batches {
				var batch []api.Event
				for j := range perBatch {
					k := b*perBatch + j
					batch = append(batch, charged(fmt.Sprintf("d%d-%d", d, k), "studio", user, "revit", base.Add(time.Duration(k)*charge.Day), 10, ""))
				}
				// Retried by its event ids until a ledger answers, through the ledgers in
				// turn as a load balancer would send it.
				for try := 0; ; try++ {
					c := client.New(procs[(d+try)%2].url, creds[d], nil)
					rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					rs, err := c.Ingest(rctx, batch)
					cancel()
					if err == nil {
						mu.Lock()
						for i, r := range rs {
							got[batch[i].ID] = r.Status
						}
						mu.Unlock()
						select {
						case <-killed:
						default:
							ackedBeforeKill.Add(1)
						}
						select {
						case <-promoted:
							ackedAfterPromote.Add(1)
						default:
						}
						break
					}
					var ce *client.Error
					if errors.As(err, &ce) && !ce.Temporary() {
						t.Errorf("device %d batch %d: %v (a refusal, not an outage)", d, b, err)
						return
					}
					failures.Add(1)
					if try > 2000 {
						t.Errorf("device %d batch %d: still failing after %d tries: %v", d, b, try, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				acked.Add(1)
			}
		})
	}
	// The power cut, mid-ingest: once a third of the batches are acknowledged.
	for acked.Load() < killAt {
		time.Sleep(5 * time.Millisecond)
	}
	ha.primary.kill9()
	close(killed)
	t.Logf("%v: primary killed after %d acknowledged batches", time.Since(t0), acked.Load())
	time.Sleep(time.Second) // the ledgers and devices meet the outage
	ha.promote()
	close(promoted)
	t.Logf("%v: replica promoted after %d failed requests", time.Since(t0), failures.Load())
	wg.Wait()
	t.Logf("%v: all batches acknowledged, %d failed requests", time.Since(t0), failures.Load())
	if t.Failed() {
		return
	}

	if ackedBeforeKill.Load() == 0 || ackedAfterPromote.Load() == 0 || failures.Load() == 0 {
		t.Errorf("the failover did not fall mid-ingest: %d batches acknowledged before the kill, %d after the promotion, %d failed requests; want some of each",
			ackedBeforeKill.Load(), ackedAfterPromote.Load(), failures.Load())
	}
	want := devices * batches * perBatch
	if len(got) != want {
		t.Fatalf("acknowledged charges: got %d, want %d", len(got), want)
	}
	for id, st := range got {
		if st != api.Accepted && st != api.Duplicate {
			t.Errorf("charge %s: acknowledged as %q, want accepted (or duplicate on a retry of a batch whose answer was lost)", id, st)
		}
	}

	// What is on the promoted primary, read there directly.
	conn, err := pgx.Connect(ctx, ha.replica.url("tollgate"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var inRecovery bool
	must(t, conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery))
	if inRecovery {
		t.Fatal("the replica is still in recovery after pg_ctl promote")
	}
	rows, err := conn.Query(ctx, `SELECT event_id, COUNT(*) FROM charges WHERE team = 'studio' GROUP BY event_id`)
	must(t, err)
	onPrimary := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		must(t, rows.Scan(&id, &n))
		onPrimary[id] = n
	}
	must(t, rows.Err())
	var missing, doubled int
	for id := range got {
		switch n := onPrimary[id]; {
		case n == 0:
			missing++
			if missing <= 5 {
				t.Errorf("charge %s was acknowledged and is not on the promoted primary", id)
			}
		case n > 1:
			doubled++
			t.Errorf("charge %s is on the promoted primary %d times", id, n)
		}
	}
	if len(onPrimary) != want {
		t.Errorf("charges on the promoted primary: got %d, want the %d acknowledged", len(onPrimary), want)
	}
	if missing > 0 || doubled > 0 {
		t.Errorf("after the failover: %d acknowledged charges lost, %d doubled; want none", missing, doubled)
	}
	after := es[0].balance(t, "studio")
	if spent := before.Available - after.Available; spent != int64(want*10) {
		t.Errorf("tokens spent through the failover: got %d, want %d (%d charges of 10)", spent, want*10, want)
	}
	db, err := store.Open(ctx, ha.replica.url("tollgate"))
	must(t, err)
	defer db.Close()
	if err := db.Verify(ctx); err != nil {
		t.Errorf("balances recomputed from the movements on the promoted primary: %v", err)
	}
}

// envInt reads a size from the environment, def when unset.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}
