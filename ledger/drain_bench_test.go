package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store/storetest"
)

// BenchmarkAuthorizeDrain measures launch decisions while 16 devices drain backlogs of
// 500 events each (the agent's batch), over and over, honouring the ledger's 429 and
// Retry-After as the agent does; the baseline is the same authorizations with nothing
// draining, measured before and after in the same run (the ratio is to the better). Authorizations go out at 20 a second, open
// loop. The goal: authorize p99 under 100 ms while the devices drain.
//
//	go test -run '^$' -bench AuthorizeDrain -benchtime 200x ./ledger/
func BenchmarkAuthorizeDrain(b *testing.B) {
	const devices, backlog, rate = 16, 500, 20
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			e, _, _ := benchEnv(b, kind, 1000)
			base := bought.Add(time.Hour)
			e.clock.Set(base.Add(30 * charge.Day))
			ctx := context.Background()
			// Launches come from workstations of their own, as in an office: 16 of them.
			creds := fleet(b, e.db, "studio", 2*devices)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * devices}}
			var failed atomic.Int64
			authorize := func(n int) []time.Duration {
				lat := make([]time.Duration, n)
				var wg sync.WaitGroup
				tick := time.NewTicker(time.Second / rate)
				defer tick.Stop()
				for i := range n {
					<-tick.C
					wg.Go(func() {
						dev := client.New(e.url, creds[devices+i%devices], hc)
						t0 := time.Now()
						a, err := dev.Authorize(ctx, fmt.Sprint("u", i%1000), "revit", "")
						lat[i] = time.Since(t0)
						if err != nil || a.Decision.Reason != charge.InGrace {
							if failed.Add(1) == 1 {
								b.Errorf("authorize %d: %v %+v", i, err, a.Decision)
							}
							return
						}
						if err := dev.Release(ctx, a.Hold); err != nil && failed.Add(1) == 1 {
							b.Errorf("release %d: %v", i, err)
						}
					})
				}
				wg.Wait()
				slices.Sort(lat)
				return lat
			}
			// A ledger that has run a while has its connections open and its statements
			// prepared: a first round warms them, unmeasured.
			authorize(2 * rate)
			idle := authorize(b.N)

			drainCtx, stop := context.WithCancel(ctx)
			var batches, paced, events atomic.Int64
			var wg sync.WaitGroup
			for d := range devices {
				wg.Go(func() {
					c := client.New(e.url, creds[d], hc)
					for round := 0; drainCtx.Err() == nil; round++ {
						batch := make([]api.Event, 0, backlog)
						for j := range backlog / 4 {
							k := (round*devices+d)*(backlog/4) + j
							user := fmt.Sprint("u", k%1000)
							st := base.Add(time.Duration(k/1000) * time.Hour)
							id := fmt.Sprint(round, "-", j)
							batch = append(batch, charged("c"+id, "studio", user, "maya", st, 12, ""),
								api.Event{ID: "o" + id, Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "maya", Reason: charge.InGrace}},
								api.Event{ID: "r" + id, Effect: charge.Effect{Kind: charge.Renewing, At: st.Add(time.Hour), User: user, Product: "maya"}},
								api.Event{ID: "x" + id, Effect: charge.Effect{Kind: charge.Ended, At: st.Add(2 * time.Hour), User: user, Product: "maya", Use: 2 * time.Hour}})
						}
						for drainCtx.Err() == nil {
							_, err := c.Ingest(drainCtx, batch)
							var ce *client.Error
							if errors.As(err, &ce) && ce.Code == api.CodePaced {
								paced.Add(1)
								select {
								case <-drainCtx.Done():
								case <-time.After(ce.RetryAfter):
								}
								continue
							}
							if err != nil && drainCtx.Err() == nil {
								b.Errorf("device %d: %v", d, err)
								return
							}
							if err == nil {
								batches.Add(1)
								events.Add(backlog)
							}
							break
						}
					}
				})
			}
			time.Sleep(2 * time.Second) // every device is draining
			b.ResetTimer()
			t0 := time.Now()
			busy := authorize(b.N)
			took := time.Since(t0)
			b.StopTimer()
			stop()
			wg.Wait()
			// Idle again: a baseline either side of the drain, as the machine's other load
			// comes and goes.
			after := authorize(b.N)
			p := func(lat []time.Duration, q int) float64 {
				return float64(lat[min(len(lat)-1, len(lat)*q/100)].Microseconds()) / 1000
			}
			b.ReportMetric(p(idle, 50), "idle-p50-ms")
			b.ReportMetric(p(idle, 99), "idle-p99-ms")
			b.ReportMetric(p(busy, 50), "drain-p50-ms")
			b.ReportMetric(p(busy, 99), "drain-p99-ms")
			b.ReportMetric(p(after, 50), "idle-after-p50-ms")
			b.ReportMetric(p(after, 99), "idle-after-p99-ms")
			b.ReportMetric(p(busy, 99)/min(p(idle, 99), p(after, 99)), "x-idle-p99")
			b.ReportMetric(float64(events.Load())/took.Seconds(), "drained-events/s")
			b.ReportMetric(float64(paced.Load())/float64(max(1, batches.Load()+paced.Load())), "paced-share")
		})
	}
}
