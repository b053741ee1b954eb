package ledger_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// The benchmarks run against both stores and report, beside their own figures, the
// rate of a plain INSERT loop (one row per autocommit statement) into the same database
// measured in the same run, and their ratio to it: the floor of what the database can
// durably write.
//
//	go test -run '^$' -bench . -benchtime 200x ./ledger/

// floor measures plain autocommit INSERTs per second into the database.
func floor(b *testing.B, db *store.DB) float64 {
	ctx := context.Background()
	sqlDB := db.SQL()
	if _, err := sqlDB.ExecContext(ctx, `CREATE TABLE bench_floor (id BIGINT, v TEXT)`); err != nil {
		b.Fatal(err)
	}
	q := `INSERT INTO bench_floor (id, v) VALUES (?, ?)`
	if db.Dialect() == store.Postgres {
		q = `INSERT INTO bench_floor (id, v) VALUES ($1, $2)`
	}
	const n = 2000
	start := time.Now()
	for i := range n {
		if _, err := sqlDB.ExecContext(ctx, q, i, "studio/mary/revit/2025-11-03T08:00:00Z"); err != nil {
			b.Fatal(err)
		}
	}
	return n / time.Since(start).Seconds()
}

// users puts n users named u0... into team in one transaction.
func users(b *testing.B, db *store.DB, team string, n int) {
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	q := `INSERT INTO users (id, team, assigned, products) VALUES (?, ?, TRUE, '[]')`
	if db.Dialect() == store.Postgres {
		q = `INSERT INTO users (id, team, assigned, products) VALUES ($1, $2, TRUE, '[]')`
	}
	for i := range n {
		if _, err := tx.Exec(q, fmt.Sprint("u", i), team); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// benchEnv is a served ledger with team "studio", products, a billion tokens and n users.
func benchEnv(b *testing.B, kind string, n int) (*env, *client.Client, float64) {
	e := start(b, kind)
	dev := e.studio(b, "studio", charge.MaxPack)
	do(b, e.super, "PUT", "/v1/admin/products/maya", api.Product{Rate: 12}, nil)
	users(b, e.db, "studio", n)
	return e, dev, floor(b, e.db)
}

// BenchmarkIngest sends batches of 100 usage events (25 charges, 75 session events)
// from one device and reports events per second.
func BenchmarkIngest(b *testing.B) {
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			e, dev, fl := benchEnv(b, kind, 1000)
			base := bought.Add(time.Hour)
			e.clock.Set(base.Add(390 * charge.Day))
			ctx := context.Background()
			b.ResetTimer()
			for n := range b.N {
				batch := make([]api.Event, 0, 100)
				for j := range 25 {
					k := n*25 + j
					user := fmt.Sprint("u", k%1000)
					st := base.Add(time.Duration(k/1000) * charge.Day)
					ev := charged(fmt.Sprint("c", k), "studio", user, "revit", st, 10, "")
					open := api.Event{ID: fmt.Sprint("o", k), Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "revit", Reason: charge.InGrace}}
					open2 := api.Event{ID: fmt.Sprint("p", k), Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "maya", Reason: charge.PaidWindow}}
					end := api.Event{ID: fmt.Sprint("x", k), Effect: charge.Effect{Kind: charge.Ended, At: st.Add(time.Hour), User: user, Product: "revit", Use: time.Hour}}
					batch = append(batch, ev, open, open2, end)
				}
				rs, err := dev.Ingest(ctx, batch)
				if err != nil || rs[0].Status != api.Accepted {
					b.Fatalf("batch %d: %v %+v", n, err, rs)
				}
			}
			rate := float64(b.N*100) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "events/s")
			b.ReportMetric(fl, "floor-inserts/s")
			b.ReportMetric(rate/fl, "x-floor")
		})
	}
}

// BenchmarkAuthorize sends authorizations at a steady 200 a second, open loop (a
// request is sent on schedule whether or not the earlier ones were answered), and
// reports the latency percentiles.
func BenchmarkAuthorize(b *testing.B) {
	const rate = 200
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			e, dev, fl := benchEnv(b, kind, 1000)
			ctx := context.Background()
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			b.ResetTimer()
			for i := range b.N {
				<-tick.C
				wg.Go(func() {
					t0 := time.Now()
					a, err := dev.Authorize(ctx, fmt.Sprint("u", i%1000), "revit", "")
					lat[i] = time.Since(t0)
					if err != nil || a.Decision.Reason != charge.InGrace {
						b.Errorf("authorize %d: %v %+v", i, err, a.Decision)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(fl, "floor-inserts/s")
			b.ReportMetric(1/fl*1000, "floor-ms/insert")
			_ = e
		})
	}
}

// BenchmarkFleet simulates 10,000 enrolled devices, each syncing once per round: an
// entitlement refresh and a batch of 4 events (a session opened and ended, a charge, a
// renewal notice), 64 devices at a time. It reports device syncs per second.
func BenchmarkFleet(b *testing.B) {
	const devices, parallel = 10_000, 64
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			e, _, fl := benchEnv(b, kind, devices)
			creds := fleet(b, e.db, "studio", devices)
			base := bought.Add(time.Hour)
			e.clock.Set(base.Add(390 * charge.Day))
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallel}}
			ctx := context.Background()
			var mu sync.Mutex
			var lat []time.Duration
			cpu0 := cpuTime()
			b.ResetTimer()
			for round := range b.N {
				work := make(chan int)
				var wg sync.WaitGroup
				for range parallel {
					wg.Go(func() {
						for d := range work {
							c := client.New(e.url, creds[d], hc)
							user := fmt.Sprint("u", d)
							t0 := time.Now()
							if _, err := c.Entitlement(ctx, user); err != nil {
								b.Error(err)
								return
							}
							t1 := time.Now()
							st := base.Add(time.Duration(round) * charge.Day)
							id := fmt.Sprint(round, "-")
							rs, err := c.Ingest(ctx, []api.Event{
								{ID: id + "o", Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "revit", Reason: charge.InGrace}},
								charged(id+"c", "studio", user, "revit", st, 10, ""),
								{ID: id + "r", Effect: charge.Effect{Kind: charge.Renewing, At: st.Add(time.Hour), User: user, Product: "revit"}},
								{ID: id + "e", Effect: charge.Effect{Kind: charge.Ended, At: st.Add(2 * time.Hour), User: user, Product: "revit", Use: 2 * time.Hour}},
							})
							if err != nil || rs[1].Status != api.Accepted {
								b.Errorf("device %d: %v %+v", d, err, rs)
								return
							}
							mu.Lock()
							lat = append(lat, t1.Sub(t0), time.Since(t1))
							mu.Unlock()
						}
					})
				}
				for d := range devices {
					work <- d
				}
				close(work)
				wg.Wait()
			}
			rate := float64(b.N*devices) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "syncs/s")
			b.ReportMetric(2*rate, "requests/s")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			// Server and clients share this process: an upper bound on the ledger's CPU.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/b.Elapsed().Seconds(), "cpu-cores")
			b.ReportMetric(fl, "floor-inserts/s")
			b.ReportMetric(rate/fl, "x-floor")
		})
	}
}

// fleet enrolls n devices into team directly in the database and returns their
// credentials.
func fleet(b *testing.B, db *store.DB, team string, n int) []string {
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	q := `INSERT INTO devices (id, team, name, credential, enrolled, last_seen) VALUES (?, ?, ?, ?, 0, 0)`
	if db.Dialect() == store.Postgres {
		q = `INSERT INTO devices (id, team, name, credential, enrolled, last_seen) VALUES ($1, $2, $3, $4, 0, 0)`
	}
	creds := make([]string, n)
	for i := range n {
		creds[i] = store.NewSecret("tgd_")
		if _, err := tx.Exec(q, fmt.Sprint("dv_fleet", i), team, fmt.Sprint("pc", i), store.Hash(creds[i])); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return creds
}
