package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store/storetest"
)

// TestTwoLedgersShareOneTeam: two `tollgate ledger serve` processes on one PostgreSQL
// take charges for one team from 16 devices at once, directly and through a PgBouncer in
// transaction pooling mode (the production topology of docs/deploying.md). Two devices
// share each user and send the same windows (one charge per key, whichever ledger takes
// it first), and every batch is sent twice at once, once through each ledger, as an
// agent's retry after a lost answer would be. Each window is charged exactly once, none
// is lost, and the balance is the pack less exactly those charges.
func TestTwoLedgersShareOneTeam(t *testing.T) {
	for _, via := range []string{"postgres", "pgbouncer"} {
		t.Run(via, func(t *testing.T) {
			const devices, users, batches, perBatch = 16, 8, 6, 3
			ctx := context.Background()
			direct := storetest.URL(t, "postgres")
			dbURL := direct
			if via == "pgbouncer" {
				dbURL = storetest.Via(t, direct, storetest.PgBouncer(t).Addr)
			}
			procs := startLedgers(t, dbURL, 2)
			tok := adminToken(t, procs)
			var es []*env
			for _, p := range procs {
				es = append(es, &env{url: p.url, super: client.New(p.url, tok, nil)})
			}
			es[0].studio(t, "studio", charge.MaxPack)
			for u := range users {
				do(t, es[u%2].super, "PUT", fmt.Sprintf("/v1/admin/teams/studio/users/u%d.studio", u), api.PutUser{}, nil)
			}
			var creds []string
			for d := range devices {
				creds = append(creds, client.Token(es[d%2].device(t, "studio", fmt.Sprint("pc", d))))
			}
			before := es[1].balance(t, "studio")

			base := time.Now().UTC().Add(-time.Duration(batches*perBatch+2) * charge.Day).Truncate(time.Hour)
			var mu sync.Mutex
			accepted := map[string]int{} // window (user/start) -> how many answers said accepted
			var wg sync.WaitGroup
			ready := make(chan struct{})
			for d := range devices {
				user := fmt.Sprintf("u%d.studio", d%users)
				for b := range batches {
					var batch []api.Event
					for j := range perBatch {
						k := b*perBatch + j
						batch = append(batch, charged(fmt.Sprintf("d%d-%d", d, k), "studio", user, "revit", base.Add(time.Duration(k)*charge.Day), 10, ""))
					}
					for _, p := range procs {
						wg.Go(func() {
							<-ready
							rs, err := ingestPaced(ctx, client.New(p.url, creds[d], nil), batch)
							if err != nil {
								t.Errorf("device %d batch %d through %s: %v", d, b, p.url, err)
								return
							}
							mu.Lock()
							defer mu.Unlock()
							for i, r := range rs {
								if r.Status == api.Accepted {
									accepted[fmt.Sprint(user, "/", batch[i].Key.Start.Unix())]++
								} else if r.Status != api.Duplicate {
									t.Errorf("event %s: got %q, want accepted or duplicate", batch[i].ID, r.Status)
								}
							}
						})
					}
				}
			}
			close(ready)
			wg.Wait()

			want := users * batches * perBatch
			doubled := 0
			for w, n := range accepted {
				if n != 1 {
					doubled++
					t.Errorf("window %s: accepted %d times, want once", w, n)
				}
			}
			if len(accepted) != want || doubled > 0 {
				t.Errorf("windows accepted: got %d (%d more than once), want %d each once", len(accepted), doubled, want)
			}
			conn, err := pgx.Connect(ctx, direct)
			must(t, err)
			defer conn.Close(ctx)
			var rows, tokens int64
			must(t, conn.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(tokens), 0) FROM charges WHERE team = 'studio'`).Scan(&rows, &tokens))
			if rows != int64(want) || tokens != int64(want*10) {
				t.Errorf("in the database: got %d charges of %d tokens, want %d of %d", rows, tokens, want, want*10)
			}
			for i, e := range es {
				if spent := before.Available - e.balance(t, "studio").Available; spent != int64(want*10) {
					t.Errorf("through ledger %d: got %d tokens spent, want %d", i, spent, want*10)
				}
			}
			if err := open(t, direct).Verify(ctx); err != nil {
				t.Errorf("balances recomputed from the movements: %v", err)
			}
		})
	}
}

// ingestPaced sends a batch as an agent does: a batch the ledger paces (429, nothing of it
// stored) is sent again after its Retry-After.
func ingestPaced(ctx context.Context, c *client.Client, batch []api.Event) ([]api.Result, error) {
	for {
		rs, err := c.Ingest(ctx, batch)
		var e *client.Error
		if !errors.As(err, &e) || e.Code != api.CodePaced {
			return rs, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(min(e.RetryAfter, 2*time.Second)):
		}
	}
}
