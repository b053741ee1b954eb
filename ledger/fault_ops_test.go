package ledger_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/clock/clocktest"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// receiver is a webhook receiver as a team's admin would write one: it verifies each
// body's signature with the secret the ledger showed when the webhook was set, and keeps
// what verified.
type receiver struct {
	srv    *httptest.Server
	secret atomic.Value // string
	mu     sync.Mutex
	got    []map[string]any
	bad    []string // why a post was refused
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.secret.Store("")
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if why := verify(rc.secret.Load().(string), r.Header, body, time.Now()); why != "" {
			rc.bad = append(rc.bad, why)
			http.Error(w, why, http.StatusUnauthorized)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		rc.got = append(rc.got, m)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// verify is the receiver's check, written from docs/deploying.md, not from the ledger's
// code: HMAC-SHA256 over "<timestamp>.<body>", hex, as "v1=<hex>", within 5 minutes.
func verify(secret string, h http.Header, body []byte, now time.Time) string {
	ts := h.Get("Tollgate-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "no timestamp"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "stale timestamp"
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	if !hmac.Equal([]byte("v1="+hex.EncodeToString(m.Sum(nil))), []byte(h.Get("Tollgate-Signature"))) {
		return "bad signature"
	}
	return ""
}

func (rc *receiver) kinds() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, m := range rc.got {
		out = append(out, fmt.Sprint(m["kind"]))
	}
	return out
}

// TestOverdrawIsNotified: a renewal under overdraw that takes the pool from 0 to -10
// sends an overdraw notice with the debt, signed, to the team's webhook; the notice of
// the pool reaching 0 went earlier. Before, no notice was sent at the overdraw.
func TestOverdrawIsNotified(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rc := newReceiver(t)
		dev := e.studio(t, "studio", 100)
		var tm api.Team
		do(t, e.super, "PUT", "/v1/admin/teams/studio/settings", api.Settings{Webhook: &rc.srv.URL}, &tm)
		if !strings.HasPrefix(tm.WebhookSecret, "whsec_") {
			t.Fatalf("setting the webhook: got secret %q, want one shown once", tm.WebhookSecret)
		}
		rc.secret.Store(tm.WebhookSecret)
		var again api.Team
		do(t, e.super, "GET", "/v1/admin/teams/studio", nil, &again)
		if again.WebhookSecret != "" {
			t.Errorf("the secret is shown again by team show")
		}

		var evs []api.Event
		for i := range 10 {
			evs = append(evs, charged(fmt.Sprint("c", i), "studio", "john.studio", "revit", bought.Add(time.Duration(i)*charge.Day), 10, ""))
		}
		e.clock.Set(bought.Add(11 * charge.Day))
		_, err := dev.Ingest(ctx, evs)
		must(t, err)
		must(t, e.srv.Deliver(ctx))
		renewal := charged("r", "studio", "john.studio", "revit", bought.Add(10*charge.Day), 10, "")
		renewal.Renewal, renewal.Overdraw = true, true
		_, err = dev.Ingest(ctx, []api.Event{renewal})
		must(t, err)
		must(t, e.srv.Deliver(ctx))

		if b := e.balance(t, "studio"); b.Debt != 10 {
			t.Fatalf("got debt %d, want 10", b.Debt)
		}
		kinds := rc.kinds()
		if !strings.Contains(strings.Join(kinds, ","), "overdraw") {
			t.Fatalf("webhook got %v (refused: %v), want an overdraw notice", kinds, rc.bad)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, m := range rc.got {
			if m["kind"] != "overdraw" {
				continue
			}
			var p store.Overdraw
			b, _ := json.Marshal(m["payload"])
			must(t, json.Unmarshal(b, &p))
			if p.Debt != 10 || p.Added != 10 || p.Team != "studio" {
				t.Errorf("overdraw notice: got %+v, want debt 10, added 10, team studio", p)
			}
		}
		if len(rc.bad) > 0 {
			t.Errorf("the receiver refused posts: %v", rc.bad)
		}
	})
}

// TestWebhookSignatureFailsOnTampering: the receiver's check refuses a body changed on
// the way, a wrong secret and an old timestamp (what a receiver relies on).
func TestWebhookSignatureFailsOnTampering(t *testing.T) {
	now := time.Now()
	body := []byte(`{"kind":"overdraw"}`)
	h := http.Header{}
	h.Set(ledger.TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	h.Set(ledger.SignatureHeader, ledger.Sign("whsec_a", now, body))
	tests := []struct {
		name, secret string
		body         []byte
		at           time.Time
		want         string
	}{
		{"as sent", "whsec_a", body, now, ""},
		{"body changed", "whsec_a", []byte(`{"kind":"low_balance"}`), now, "bad signature"},
		{"other secret", "whsec_b", body, now, "bad signature"},
		{"replayed later", "whsec_a", body, now.Add(time.Hour), "stale timestamp"},
	}
	for _, tc := range tests {
		if got := verify(tc.secret, h, tc.body, tc.at); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestWebhookRefusesInternalAddresses: by default a team admin cannot point the webhook
// at the ledger's machine or its link-local network (cloud metadata), written as an
// address or a name; and a name that resolves there when a notice is sent (DNS rebinding)
// gets nothing: the dialer checks the address it connects to.
func TestWebhookRefusesInternalAddresses(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := start(t, kind)
			e.studio(t, "studio", 100)
			strict := ledger.New(ledger.Options{Store: e.db, Clock: e.clock})
			hs := httptest.NewServer(strict.Handler())
			t.Cleanup(hs.Close)
			tok := store.NewSecret("tga_")
			must(t, e.db.CreateAdminToken(ctx, "studio", "team admin", tok, bought))
			admin := client.New(hs.URL, tok, nil)

			rc := newReceiver(t)
			for _, hook := range []string{"http://169.254.169.254/latest/meta-data/", rc.srv.URL, "http://localhost:9/x", "http://[::1]:9/x", "http://[fe80::1]/x", "http://0.0.0.0:9/"} {
				err := admin.Do(ctx, "PUT", "/v1/admin/teams/studio/settings", api.Settings{Webhook: &hook}, nil)
				if status(t, err) != http.StatusBadRequest || !strings.Contains(err.Error(), "--webhook-allow-internal") {
					t.Errorf("webhook %s: got %v, want 400 naming --webhook-allow-internal", hook, err)
				}
			}
			pub := "https://hooks.example.com/tollgate"
			if err := admin.Do(ctx, "PUT", "/v1/admin/teams/studio/settings", api.Settings{Webhook: &pub}, nil); err != nil {
				t.Errorf("a public webhook: got %v, want it set", err)
			}

			// As if hooks.example.com now resolved to loopback: the URL stored, a notice due.
			tm, err := e.db.SetSettings(ctx, "studio", api.Settings{Webhook: &rc.srv.URL}, e.clock.Now())
			must(t, err)
			rc.secret.Store(tm.WebhookSecret)
			// A product whose day costs 90 takes the pool below its threshold at once.
			_, err = e.db.PutProduct(ctx, api.Product{ID: "bigcad", Name: "BigCAD", Rate: 90}, bought)
			must(t, err)
			_, err = e.db.Ingest(ctx, "studio", "pc", []api.Event{charged("big", "studio", "john.studio", "bigcad", bought, 90, "")}, e.clock.Now())
			must(t, err)
			must(t, strict.Deliver(ctx))
			if k := rc.kinds(); len(k) != 0 {
				t.Errorf("receiver on loopback got %v, want nothing", k)
			}
			ns, err := e.db.Notifications(ctx, "studio")
			must(t, err)
			if len(ns) == 0 || !strings.Contains(ns[0].LastError, "does not post to this machine") {
				t.Errorf("got notifications %+v, want the delivery refused with the reason recorded", ns)
			}

			// The super-admin allows it: the same notice is delivered.
			e.clock.Set(e.clock.Now().Add(time.Hour))
			must(t, e.srv.Deliver(ctx)) // the test env's server runs with WebhookAllowInternal
			if k := rc.kinds(); len(k) == 0 {
				t.Errorf("with internal webhooks allowed: receiver got nothing")
			}
		})
	}
}

// counting counts the store's full scans of teams.
type counting struct {
	*store.DB
	scans atomic.Int64
}

func (c *counting) Teams(ctx context.Context, scope string, now time.Time) ([]api.Team, error) {
	if scope == "" {
		c.scans.Add(1)
	}
	return c.DB.Teams(ctx, scope, now)
}

func scrape(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsExposure: /metrics is open and names no team; each team's balance is at
// /metrics/teams, only with the metrics token, and kept as balances change rather than
// read from the database at each scrape.
func TestMetricsExposure(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := start(t, kind)
			dev := e.studio(t, "studio", 100)
			st := &counting{DB: e.db}
			const token = "metrics-token-0123456789"
			srv := ledger.New(ledger.Options{Store: st, Clock: e.clock, MetricsToken: token})
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(hs.Close)
			off := httptest.NewServer(ledger.New(ledger.Options{Store: e.db, Clock: e.clock}).Handler())
			t.Cleanup(off.Close)

			if code, body := scrape(t, hs.URL+"/metrics", ""); code != 200 || strings.Contains(body, "studio") || !strings.Contains(body, "tollgate_ledger_dead_letters") {
				t.Errorf("/metrics: got %d, want 200 with process metrics and no team:\n%s", code, body)
			}
			tests := []struct {
				name, url, token string
				want             int
			}{
				{"no token", hs.URL + "/metrics/teams", "", http.StatusUnauthorized},
				{"wrong token", hs.URL + "/metrics/teams", "metrics-token-0123456780", http.StatusUnauthorized},
				{"an admin's token", hs.URL + "/metrics/teams", e.superToken(t), http.StatusUnauthorized},
				{"no metrics token set", off.URL + "/metrics/teams", token, http.StatusNotFound},
			}
			for _, tc := range tests {
				if code, body := scrape(t, tc.url, tc.token); code != tc.want || strings.Contains(body, "studio") {
					t.Errorf("%s: got %d %q, want %d and no team", tc.name, code, body, tc.want)
				}
			}
			want := func(available string) {
				t.Helper()
				code, body := scrape(t, hs.URL+"/metrics/teams", token)
				if code != 200 || !strings.Contains(body, `tollgate_ledger_available_tokens{team="studio"} `+available+"\n") {
					t.Errorf("team metrics: got %d\n%s\nwant studio at %s", code, body, available)
				}
			}
			want("100")
			// Through the server whose metrics are read: a charge, and a hold.
			srvDev := client.New(hs.URL, client.Token(dev), nil)
			_, err := srvDev.Ingest(ctx, []api.Event{charged("c1", "studio", "john.studio", "revit", bought, 10, "")})
			must(t, err)
			want("90")
			_, err = srvDev.Authorize(ctx, "mary.studio", "revit", "h1")
			must(t, err)
			want("80")
			for range 5 {
				want("80")
			}
			if n := st.scans.Load(); n != 1 {
				t.Errorf("got %d scans of every team for 8 scrapes, want 1 (the first)", n)
			}
		})
	}
}

// BenchmarkMetricsScrape scrapes the team metrics of 3,000 teams and the process
// metrics alone, in the same run, and reports their ratio (docs/performance.md); also a
// team scrape just after a balance changed (rendered anew) and, for scale, one read of
// every team's balance from the database, what each scrape cost before.
//
//	go test -run '^$' -bench MetricsScrape -benchtime 200x ./ledger/
func BenchmarkMetricsScrape(b *testing.B) {
	const teams = 3000
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(b, "sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range teams {
		if _, err := tx.Exec(`INSERT INTO teams (id, name, created) VALUES (?, ?, 0)`, fmt.Sprint("team", i), fmt.Sprint("Team ", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	c := clocktest.New(bought)
	const token = "metrics-token-0123456789"
	hs := httptest.NewServer(ledger.New(ledger.Options{Store: db, Clock: c, MetricsToken: token}).Handler())
	b.Cleanup(hs.Close)
	if code, body := scrape(b, hs.URL+"/metrics/teams", token); code != 200 || strings.Count(body, "tollgate_ledger_available_tokens{") != teams {
		b.Fatalf("first scrape: %d, %d teams", code, strings.Count(body, "tollgate_ledger_available_tokens{"))
	}
	timeIt := func(n int, f func()) time.Duration {
		start := time.Now()
		for range n {
			f()
		}
		return time.Since(start) / time.Duration(n)
	}
	process := timeIt(200, func() { scrape(b, hs.URL+"/metrics", "") })
	scan := timeIt(3, func() {
		if _, err := db.Teams(ctx, "", c.Now()); err != nil {
			b.Fatal(err)
		}
	})
	var changed time.Duration // a scrape just after a balance changed renders anew
	for i := range 20 {
		th := int64(i)
		if _, err := db.SetSettings(ctx, "team7", api.Settings{ThresholdAbsolute: &th}, c.Now()); err != nil {
			b.Fatal(err)
		}
		changed += timeIt(1, func() { scrape(b, hs.URL+"/metrics/teams", token) })
	}
	changed /= 20
	b.ResetTimer()
	for range b.N {
		scrape(b, hs.URL+"/metrics/teams", token)
	}
	team := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(changed.Microseconds()), "µs/team-scrape-after-change")
	b.ReportMetric(float64(scan.Microseconds()), "µs/scan")
	b.ReportMetric(float64(team.Microseconds()), "µs/team-scrape")
	b.ReportMetric(float64(process.Microseconds()), "µs/process-scrape")
	b.ReportMetric(float64(team)/float64(process), "x-process")
	b.ReportMetric(float64(scan)/float64(team), "scan-x-team")
}

// TestDeadLetterRetryIsNotADuplicate: a charge refused on its own (another device paid
// the same window a different amount) is recorded under its event id; re-sending the
// dead letter must be judged again, not answered "duplicate" and closed unpaid.
func TestDeadLetterRetryIsNotADuplicate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.studio(t, "studio", 100)
		b := e.device(t, "studio", "pc-b")
		_, err := a.Ingest(ctx, []api.Event{charged("a1", "studio", "john.studio", "revit", bought, 10, "")})
		must(t, err)
		rs, err := b.Ingest(ctx, []api.Event{charged("b1", "studio", "john.studio", "revit", bought, 7, "")})
		must(t, err)
		if rs[0].Status != api.Refused {
			t.Fatalf("a conflicting charge: got %+v, want refused", rs[0])
		}
		var ls []api.DeadLetter
		do(t, e.super, "GET", "/v1/admin/teams/studio/dead-letter", nil, &ls)
		if len(ls) != 1 || ls[0].ID != "b1" || ls[0].Code != api.CodeConflict {
			t.Fatalf("dead letters: got %+v, want b1, conflict", ls)
		}
		for i := range 2 {
			var out api.Retried
			do(t, e.super, "POST", "/v1/admin/teams/studio/dead-letter/retry", map[string]string{"id": "b1"}, &out)
			if len(out.Results) != 1 || out.Results[0].Status != api.Refused || out.Results[0].ID != "b1" {
				t.Errorf("retry %d: got %+v, want b1 refused again", i+1, out.Results)
			}
		}
		do(t, e.super, "GET", "/v1/admin/teams/studio/dead-letter", nil, &ls)
		if len(ls) != 1 || ls[0].Attempts != 3 || !ls[0].Resolved.IsZero() {
			t.Errorf("after two retries: got %+v, want b1 open, 3 attempts", ls)
		}
		if got := e.balance(t, "studio").Available; got != 90 {
			t.Errorf("got %d available, want 90: the window charged once", got)
		}
	})
}
