package ledger_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/ledgertest"
	"tollgate/ledger/store/storetest"
)

// BenchmarkFleetScaleOut is BenchmarkFleet's 10,000-device fleet against real `tollgate
// ledger serve` processes on one PostgreSQL: each round every device syncs once (an
// entitlement refresh and a batch of 4 events), first all through one ledger, then spread
// over two (device by device, as a load balancer would). It reports syncs per second and
// p99 of each, and two's rate over one's, measured in the same run. The order of the two
// halves alternates by round, so neither always meets the warmer database.
//
//	go test -run '^$' -bench FleetScaleOut -benchtime 2x ./ledger/
func BenchmarkFleetScaleOut(b *testing.B) {
	const devices, parallel = 10_000, 64
	ctx := context.Background()
	dbURL := storetest.URL(b, "postgres")
	first := ledgertest.Start(b, tollgateBin, dbURL, "")
	admin := first.Admin
	second := benchLedger(b, dbURL)
	must(b, admin.Do(ctx, "POST", "/v1/admin/teams", api.NewTeam{ID: "studio"}, nil))
	must(b, admin.Do(ctx, "PUT", "/v1/admin/products/revit", api.Product{Name: "Revit", Rate: 10}, nil))
	must(b, admin.Do(ctx, "POST", "/v1/admin/teams/studio/packs", api.BuyPack{Tokens: charge.MaxPack}, nil))
	db := open(b, dbURL)
	users(b, db, "studio", devices)
	creds := fleet(b, db, "studio", devices)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallel}}
	// The processes run on the real clock: each round's windows a day after the last.
	base := time.Now().UTC().Add(-300 * charge.Day).Truncate(time.Hour)
	if b.N > 140 {
		b.Fatalf("-benchtime %dx: at most 140 rounds fit in the 400 days a device may report", b.N)
	}

	// sync runs one round of the fleet through the ledgers at urls and returns its
	// duration and the latencies of its requests.
	round := 0
	sync1 := func(urls []string) (time.Duration, []time.Duration) {
		st := base.Add(time.Duration(round) * charge.Day)
		id := fmt.Sprint(round, "-")
		round++
		work := make(chan int)
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		t0 := time.Now()
		for range parallel {
			wg.Go(func() {
				for d := range work {
					c := client.New(urls[d%len(urls)], creds[d], hc)
					user := fmt.Sprint("u", d)
					t0 := time.Now()
					if _, err := retryOverload(ctx, func() (any, error) { return c.Entitlement(ctx, user) }); err != nil {
						b.Error(err)
						return
					}
					t1 := time.Now()
					rs, err := retryOverload(ctx, func() ([]api.Result, error) {
						return c.Ingest(ctx, []api.Event{
							{ID: id + "o", Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "revit", Reason: charge.InGrace}},
							charged(id+"c", "studio", user, "revit", st, 10, ""),
							{ID: id + "r", Effect: charge.Effect{Kind: charge.Renewing, At: st.Add(time.Hour), User: user, Product: "revit"}},
							{ID: id + "e", Effect: charge.Effect{Kind: charge.Ended, At: st.Add(2 * time.Hour), User: user, Product: "revit", Use: 2 * time.Hour}},
						})
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
		return time.Since(t0), lat
	}

	one := []string{first.URL}
	two := []string{first.URL, second}
	var d1, d2 time.Duration
	var l1, l2 []time.Duration
	b.ResetTimer()
	for i := range b.N {
		a, c := one, two
		if i%2 == 1 {
			a, c = two, one
		}
		da, la := sync1(a)
		dc, lc := sync1(c)
		if i%2 == 1 {
			da, dc, la, lc = dc, da, lc, la
		}
		d1, d2 = d1+da, d2+dc
		l1, l2 = append(l1, la...), append(l2, lc...)
	}
	b.StopTimer()
	r1 := float64(b.N*devices) / d1.Seconds()
	r2 := float64(b.N*devices) / d2.Seconds()
	b.ReportMetric(r1, "one-syncs/s")
	b.ReportMetric(r2, "two-syncs/s")
	b.ReportMetric(r2/r1, "x-two/one")
	b.ReportMetric(p99ms(l1), "one-p99-ms")
	b.ReportMetric(p99ms(l2), "two-p99-ms")
}

// benchLedger starts another `tollgate ledger serve` on dbURL, whose super-admin token
// the first one wrote, and returns its URL.
func benchLedger(b *testing.B, dbURL string) string {
	cmd := exec.Command(tollgateBin, "ledger", "serve", "--db", dbURL, "--listen", "127.0.0.1:0", "--data", b.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out) // its later output, until it ends
			return m[1]
		}
	}
	b.Fatalf("the second ledger ended before it listened: %v", sc.Err())
	return ""
}

// retryOverload repeats a request the ledger answered with overload (429/503, as a draining
// fleet may meet) after the Retry-After it gave, as the agent does.
func retryOverload[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		var ce *client.Error
		if err == nil || !errors.As(err, &ce) || (ce.Status != http.StatusTooManyRequests && ce.Status != http.StatusServiceUnavailable) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(max(ce.RetryAfter, 10*time.Millisecond)):
		}
	}
}

func p99ms(lat []time.Duration) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return float64(lat[len(lat)*99/100].Microseconds()) / 1000
}
