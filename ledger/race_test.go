package ledger_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// TestExhaustion is the exhaustion race of issue 3: a balance of exactly one Revit day
// and 50 concurrent authorizations through two `tollgate ledger serve` processes over one
// database, devices enrolled through both: exactly one is allowed, and the balances still
// add up from the movements.
func TestExhaustion(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dbURL := storetest.URL(t, kind)
			procs := startLedgers(t, dbURL, 2)
			tok := adminToken(t, procs)
			// An env per process, for its admin and enrollment helpers; the store is
			// the processes' alone, so db, srv and clock stay unset.
			var es []*env
			for _, p := range procs {
				es = append(es, &env{url: p.url, dbURL: dbURL, super: client.New(p.url, tok, nil)})
			}
			first := es[0].studio(t, "studio", 100)
			// The processes run on the real clock: the spent window ends just now.
			spent := time.Now().UTC().Add(-time.Hour)
			// The ledger takes a charge only at its product's rate: a product costing 90.
			do(t, es[0].super, "PUT", "/v1/admin/products/suite", api.Product{Rate: 90}, nil)
			rs, err := first.Ingest(ctx, []api.Event{charged("spend", "studio", "john.studio", "suite", spent, 90, "")})
			must(t, err)
			if b := es[1].balance(t, "studio"); rs[0].Status != api.Accepted || b.Available != 10 {
				t.Fatalf("setup: got %+v, %d left; want 10 left", rs[0], b.Available)
			}
			var devs []*client.Client
			for i := range 50 {
				devs = append(devs, es[i%2].device(t, "studio", fmt.Sprint("pc", i)))
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			reasons := map[charge.Reason]int{}
			ready := make(chan struct{})
			for _, d := range devs {
				wg.Go(func() {
					<-ready
					a, err := d.Authorize(ctx, "mary.studio", "revit", "")
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					reasons[a.Decision.Reason]++
					mu.Unlock()
				})
			}
			close(ready)
			wg.Wait()
			if reasons[charge.InGrace] != 1 || reasons[charge.InsufficientTokens] != 49 {
				t.Errorf("50 launches for one Revit day: got %v, want 1 grace and 49 insufficient_tokens", reasons)
			}
			for i, e := range es {
				if b := e.balance(t, "studio"); b.Available != 0 || b.Held != 10 {
					t.Errorf("after the race, through process %d: got %+v, want 10 held and 0 available", i, b)
				}
			}
			if err := open(t, dbURL).Verify(ctx); err != nil {
				t.Errorf("balances recomputed from the movements: %v", err)
			}
		})
	}
}

// blocking holds every entitlement call until release is closed: it is the real store,
// slowed down so that the limiter's bound can be reached without timing.
type blocking struct {
	*store.DB
	entered chan struct{}
	release chan struct{}
}

func (b blocking) Entitlement(ctx context.Context, team, user string, now time.Time) (charge.Entitlement, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.DB.Entitlement(ctx, team, user, now)
}

// TestOverload fills the in-flight bound: the next request gets 503 with Retry-After,
// and /healthz still answers.
func TestOverload(t *testing.T) {
	e := start(t, "sqlite")
	dev := e.studio(t, "studio", 100)
	b := blocking{DB: e.db, entered: make(chan struct{}), release: make(chan struct{})}
	_, url := serve(t, b, e.clock, 2)
	slow := client.New(url, client.Token(dev), nil)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := slow.Entitlement(context.Background(), "mary.studio"); err != nil {
				t.Error(err)
			}
		})
		<-b.entered
	}
	_, err := slow.Entitlement(context.Background(), "mary.studio")
	var ce *client.Error
	if !asErr(err, &ce) || ce.Status != http.StatusServiceUnavailable || ce.RetryAfter != time.Second || ce.Code != api.CodeOverloaded {
		t.Errorf("third request with two in flight: got %v, want 503 overloaded with Retry-After: 1", err)
	}
	resp, err := http.Get(url + "/healthz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz while overloaded: got %d, want 200", resp.StatusCode)
	}
	close(b.release)
	wg.Wait()
}

// TestNotifications: a low balance is POSTed to the team's webhook; a failing webhook
// is retried later and every attempt is recorded.
func TestNotifications(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []string
		fail := true
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if fail {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			got = append(got, string(b))
		}))
		defer hook.Close()
		dev := e.studio(t, "studio", 100)
		do(t, e.super, "PUT", "/v1/admin/teams/studio/settings", api.Settings{ThresholdAbsolute: new(int64(50)), Webhook: &hook.URL}, nil)
		do(t, e.super, "PUT", "/v1/admin/products/suite", api.Product{Rate: 60}, nil)
		_, err := dev.Ingest(ctx, []api.Event{charged("big", "studio", "john.studio", "suite", bought, 60, "")})
		must(t, err)
		must(t, e.srv.Deliver(ctx))
		var ns []api.Notification
		do(t, e.super, "GET", "/v1/admin/teams/studio/notifications", nil, &ns)
		if len(ns) != 1 || ns[0].Kind != "low_balance" || ns[0].Attempts != 1 || !strings.Contains(ns[0].LastError, "502") || !ns[0].Delivered.IsZero() {
			t.Fatalf("after a failed delivery: got %+v, want one low_balance notice, 1 attempt, the 502 recorded", ns)
		}
		mu.Lock()
		fail = false
		mu.Unlock()
		must(t, e.srv.Deliver(ctx)) // not due yet
		e.clock.Set(e.clock.Now().Add(time.Minute))
		must(t, e.srv.Deliver(ctx))
		do(t, e.super, "GET", "/v1/admin/teams/studio/notifications", nil, &ns)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || !strings.Contains(got[0], `"low_balance"`) || ns[0].Attempts != 2 || ns[0].Delivered.IsZero() {
			t.Errorf("after the retry: webhook got %q, notice %+v; want one low_balance POST, delivered on attempt 2", got, ns[0])
		}
	})
}

// TestMetricsAndCSV reads /metrics and a CSV report.
func TestMetricsAndCSV(t *testing.T) {
	e := start(t, "sqlite")
	dev := e.studio(t, "studio", 100)
	ctx := context.Background()
	_, err := dev.Ingest(ctx, []api.Event{charged("c1", "studio", "john.studio", "revit", bought, 10, "")})
	must(t, err)
	resp, err := http.Get(e.url + "/metrics")
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `team="studio"`) {
		t.Errorf("/metrics names a team; team balances are at /metrics/teams, with the metrics token")
	}
	for _, want := range []string{
		`tollgate_ledger_ingest_events_total{status="accepted"} 1`,
		`tollgate_ledger_requests_total{code="200",route="POST /v1/events"} 1`,
		`tollgate_ledger_request_seconds_bucket`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics: missing %q", want)
		}
	}
	csv, err := e.super.Raw(ctx, "GET", "/v1/admin/teams/studio/reports/tokens?format=csv&section=daily&from=2025-10-01&to=2025-12-01")
	must(t, err)
	if want := "day,team,user,product,charges,tokens\n2025-11-01,studio,john.studio,revit,1,10\n"; string(csv) != want {
		t.Errorf("daily CSV: got %q, want %q", csv, want)
	}
}

var _ ledger.Store = blocking{}
