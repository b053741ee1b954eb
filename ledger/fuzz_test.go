package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"tollgate/charge"
	"tollgate/clock/clocktest"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// The fuzz targets send arbitrary bodies to the ledger's handlers, on each store at
// once. Decoding and validating must never panic nor fail inside (5xx); both stores must
// answer the same body the same way; and what the ledger accepted must read back as it
// was sent. Seeds are in testdata/fuzz; CI runs each target for a few seconds.

// fuzzLedger is a ledger on one store with team studio (a pack of 1000), the products
// revit (10) and autocad (7), the user mary.studio, and an enrolled device.
type fuzzLedger struct {
	kind   string
	db     *store.DB
	h      http.Handler
	super  string
	device string
	enroll string
}

func fuzzLedgers(f *testing.F) []*fuzzLedger {
	f.Helper()
	ctx := context.Background()
	var out []*fuzzLedger
	for _, kind := range storetest.Kinds() {
		db := open(f, storetest.URL(f, kind))
		l := &fuzzLedger{kind: kind, db: db, super: store.NewSecret("tga_")}
		must(f, db.CreateAdminToken(ctx, "", "super", l.super, bought))
		_, err := db.CreateTeam(ctx, api.NewTeam{ID: "studio"}, bought)
		must(f, err)
		for _, p := range []api.Product{{ID: "revit", Rate: 10}, {ID: "autocad", Rate: 7}} {
			_, err := db.PutProduct(ctx, p, bought)
			must(f, err)
		}
		_, err = db.PutUser(ctx, "studio", "mary.studio", api.PutUser{})
		must(f, err)
		_, err = db.BuyPack(ctx, "studio", api.BuyPack{Tokens: 1000}, bought)
		must(f, err)
		tok, err := db.CreateEnrollToken(ctx, "studio", bought, bought.Add(charge.Day))
		must(f, err)
		l.enroll = tok.Token
		d, err := db.Enroll(ctx, api.Enroll{Token: tok.Token, Name: "pc"}, bought)
		must(f, err)
		l.device = d.Credential
		l.h = ledger.New(ledger.Options{Store: db, Clock: clocktest.New(bought)}).Handler()
		out = append(out, l)
	}
	return out
}

// call serves one request in-process: a panic in a handler fails the fuzz target.
func (l *fuzzLedger) call(t *testing.T, method, path, token string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	l.h.ServeHTTP(w, req)
	if w.Code >= 500 {
		t.Fatalf("%s: %s %s %q: got %d %s, want an answer below 500", l.kind, method, path, body, w.Code, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s: %s %s %q: answer %q is not JSON", l.kind, method, path, body, w.Body)
	}
	return w
}

// get reads an admin resource as the super-admin.
func (l *fuzzLedger) get(t *testing.T, path string, out any) {
	t.Helper()
	w := l.call(t, "GET", path, l.super, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: GET %s: got %d %s", l.kind, path, w.Code, w.Body)
	}
	must(t, json.Unmarshal(w.Body.Bytes(), out))
}

// sameOnEach sends the body to every store's ledger and fails when their statuses differ.
func sameOnEach(t *testing.T, ls []*fuzzLedger, send func(*fuzzLedger) *httptest.ResponseRecorder) []*httptest.ResponseRecorder {
	t.Helper()
	ws := make([]*httptest.ResponseRecorder, len(ls))
	for i, l := range ls {
		ws[i] = send(l)
		if i > 0 && ws[i].Code != ws[0].Code {
			t.Fatalf("%s answered %d %s, %s answered %d %s: want the same answer on both stores",
				ls[0].kind, ws[0].Code, ws[0].Body, l.kind, ws[i].Code, ws[i].Body)
		}
	}
	return ws
}

var agentRoutes = []string{"/v1/events", "/v1/authorize", "/v1/release", "/v1/enroll"}

// FuzzAgentBodies fuzzes the agent API's bodies: ingest, authorize, release, enroll.
func FuzzAgentBodies(f *testing.F) {
	f.Add(uint8(0), []byte(`{"events":[{"id":"e1","kind":"charged","at":"2025-11-01T09:05:00Z","user":"mary.studio","product":"revit","key":{"team":"studio","user":"mary.studio","product":"revit","start":"2025-11-01T09:00:00Z"},"tokens":10}]}`))
	f.Add(uint8(0), []byte(`{"events":[{"id":"d1","kind":"denied","at":"2025-11-01T09:00:00Z","user":"mary.studio","product":"revit","reason":"insufficient\u0000tokens"}]}`))
	f.Add(uint8(1), []byte(`{"user":"mary.studio","product":"revit","hold":"h1"}`))
	f.Add(uint8(2), []byte(`{"hold":"h1"}`))
	f.Add(uint8(3), []byte(`{"token":"x","name":"pc\u0000"}`))
	ls := fuzzLedgers(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := agentRoutes[int(route)%len(agentRoutes)]
		ws := sameOnEach(t, ls, func(l *fuzzLedger) *httptest.ResponseRecorder {
			tok := l.device
			if path == "/v1/enroll" {
				// Both stores' enrollment tokens differ: the body names it as "ENROLL".
				return l.call(t, "POST", path, "", bytes.ReplaceAll(body, []byte("ENROLL"), []byte(l.enroll)))
			}
			return l.call(t, "POST", path, tok, body)
		})
		for i, l := range ls {
			w := ws[i]
			if w.Code >= 300 {
				continue
			}
			switch path {
			case "/v1/events":
				var in api.Ingest
				var out api.Ingested
				must(t, json.Unmarshal(body, &in))
				must(t, json.Unmarshal(w.Body.Bytes(), &out))
				if len(out.Results) != len(in.Events) {
					t.Fatalf("%s: %d results for %d events", l.kind, len(out.Results), len(in.Events))
				}
				for j, e := range in.Events {
					if e.Kind == charge.Charged && out.Results[j].Status == api.Accepted {
						l.checkCharge(t, e)
					}
				}
			case "/v1/authorize":
				var in api.Authorize
				var out api.Authorized
				must(t, json.Unmarshal(body, &in))
				must(t, json.Unmarshal(w.Body.Bytes(), &out))
				if in.Hold != "" && out.Hold != "" && out.Hold != in.Hold {
					t.Fatalf("%s: hold %q placed as %q", l.kind, in.Hold, out.Hold)
				}
			case "/v1/enroll":
				var in api.Enroll
				must(t, json.Unmarshal(body, &in))
				var ds []api.Device
				l.get(t, "/v1/admin/teams/studio/devices", &ds)
				if !slices.ContainsFunc(ds, func(d api.Device) bool { return d.Name == in.Name }) {
					t.Fatalf("%s: device %q enrolled, not in the list %+v", l.kind, in.Name, ds)
				}
			}
		}
	})
}

// checkCharge finds an accepted charge in the token report: its window debited exactly
// its tokens, from packs or as debt.
func (l *fuzzLedger) checkCharge(t *testing.T, e api.Event) {
	t.Helper()
	rep, err := l.db.Tokens(context.Background(), "studio", charge.MinTime(), charge.MaxTime(), bought)
	must(t, err)
	var debited int64
	for _, m := range rep.History {
		if m.Kind == api.MoveDebit && m.Ref == e.Key.String() {
			debited += -m.Tokens + m.Debt
		}
	}
	if debited != e.Tokens {
		t.Fatalf("%s: charge %s of %d accepted, %d debited", l.kind, e.Key, e.Tokens, debited)
	}
}

var adminRoutes = []struct{ method, path string }{
	{"POST", "/v1/admin/teams"},
	{"PUT", "/v1/admin/products/fz"},
	{"POST", "/v1/admin/teams/studio/users/mary.studio/subscriptions"},
	{"PUT", "/v1/admin/teams/studio/settings"},
	{"PUT", "/v1/admin/teams/studio/users/fz.studio"},
	{"POST", "/v1/admin/teams/studio/packs"},
	{"PUT", "/v1/admin/teams/studio/restrictions"},
	{"POST", "/v1/admin/teams/studio/enroll-tokens"},
	{"POST", "/v1/admin/teams/studio/admin-tokens"},
}

// FuzzAdminBodies fuzzes the admin API's bodies.
func FuzzAdminBodies(f *testing.F) {
	f.Add(uint8(0), []byte(`{"id":"t1","name":"Team \u00e9"}`))
	f.Add(uint8(1), []byte(`{"rate":5,"name":"Maya"}`))
	f.Add(uint8(2), []byte(`{"product":"revit","from":"2000-01-01T00:00:00Z","until":"2200-01-01T00:00:00Z"}`))
	f.Add(uint8(2), []byte(`{"product":"revit","from":"2025-01-01T00:00:00Z","until":"9999-12-31T00:00:00Z"}`))
	f.Add(uint8(3), []byte(`{"threshold_absolute":30,"webhook":"http://127.0.0.1:9/hook"}`))
	f.Add(uint8(4), []byte(`{"products":["revit"]}`))
	f.Add(uint8(5), []byte(`{"tokens":100}`))
	f.Add(uint8(6), []byte(`{"products":["*"]}`))
	f.Add(uint8(7), []byte(`{"valid_for":"720h"}`))
	f.Add(uint8(8), []byte(`{"name":"it\u0000"}`))
	ls := fuzzLedgers(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := adminRoutes[int(route)%len(adminRoutes)]
		ws := sameOnEach(t, ls, func(l *fuzzLedger) *httptest.ResponseRecorder {
			return l.call(t, r.method, r.path, l.super, body)
		})
		for i, l := range ls {
			if ws[i].Code >= 300 {
				continue
			}
			switch route := int(route) % len(adminRoutes); route {
			case 0:
				var in api.NewTeam
				must(t, json.Unmarshal(body, &in))
				var got api.Team
				l.get(t, "/v1/admin/teams/"+in.ID, &got)
				if in.Name != "" && got.Name != in.Name {
					t.Fatalf("%s: team name %q read back as %q", l.kind, in.Name, got.Name)
				}
			case 1:
				var in api.Product
				must(t, json.Unmarshal(body, &in))
				var ps []api.Product
				l.get(t, "/v1/admin/products", &ps)
				i := slices.IndexFunc(ps, func(p api.Product) bool { return p.ID == "fz" })
				if i < 0 || ps[i].Rate != in.Rate || (in.Name != "" && ps[i].Name != in.Name) {
					t.Fatalf("%s: product %+v read back as %+v", l.kind, in, ps)
				}
			case 2:
				var in charge.Subscription
				must(t, json.Unmarshal(body, &in))
				var u api.User
				l.get(t, "/v1/admin/teams/studio/users/mary.studio", &u)
				if !slices.ContainsFunc(u.Subscriptions, func(s charge.Subscription) bool {
					return s.Product == in.Product && s.From.Equal(in.From) && s.Until.Equal(in.Until)
				}) {
					t.Fatalf("%s: subscription %v..%v read back as %+v", l.kind, in.From, in.Until, u.Subscriptions)
				}
			case 3:
				var in api.Settings
				must(t, json.Unmarshal(body, &in))
				var got api.Team
				l.get(t, "/v1/admin/teams/studio", &got)
				if in.Webhook != nil && got.Webhook != *in.Webhook {
					t.Fatalf("%s: webhook %q read back as %q", l.kind, *in.Webhook, got.Webhook)
				}
			}
		}
	})
}
