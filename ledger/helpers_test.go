package ledger_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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

// Monday 2025-11-03 00:00 UTC; the packs of the tests are bought on Saturday 2025-11-01.
var (
	bought = time.Date(2025, 11, 1, 9, 0, 0, 0, time.UTC)
	monday = time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
)

// env is a ledger served on a real loopback listener over a fresh database.
type env struct {
	url   string
	dbURL string
	db    *store.DB
	clock *clocktest.Clock
	srv   *ledger.Server
	super *client.Client
}

func start(t testing.TB, kind string) *env {
	t.Helper()
	e := &env{dbURL: storetest.URL(t, kind), clock: clocktest.New(bought)}
	e.db = open(t, e.dbURL)
	tok := store.NewSecret("tga_")
	if err := e.db.CreateAdminToken(context.Background(), "", "super", tok, bought); err != nil {
		t.Fatal(err)
	}
	e.srv, e.url = serve(t, e.db, e.clock, 0)
	e.super = client.New(e.url, tok, nil)
	t.Cleanup(func() {
		if err := e.db.Verify(context.Background()); err != nil {
			t.Errorf("balances recomputed from the movements: %v", err)
		}
	})
	return e
}

func open(t testing.TB, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func serve(t testing.TB, st ledger.Store, c *clocktest.Clock, maxInFlight int) (*ledger.Server, string) {
	srv := ledger.New(ledger.Options{Store: st, Clock: c, MaxInFlight: maxInFlight, WebhookAllowInternal: true}) // test receivers are on loopback
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs.URL
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) { fn(t, start(t, kind)) })
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func do(t testing.TB, c *client.Client, method, path string, in, out any) {
	t.Helper()
	if err := c.Do(context.Background(), method, path, in, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// studio sets up the worked cases' team: revit (10) and autocad (7), mary assigned and
// subscribed to AutoCAD, packs of the given sizes, and an enrolled device.
func (e *env) studio(t testing.TB, team string, packs ...int64) *client.Client {
	t.Helper()
	do(t, e.super, "POST", "/v1/admin/teams", api.NewTeam{ID: team}, nil)
	do(t, e.super, "PUT", "/v1/admin/products/revit", api.Product{Name: "Revit", Rate: 10}, nil)
	do(t, e.super, "PUT", "/v1/admin/products/autocad", api.Product{Name: "AutoCAD", Rate: 7}, nil)
	for _, u := range []string{"mary", "john"} {
		do(t, e.super, "PUT", "/v1/admin/teams/"+team+"/users/"+u+"."+team, api.PutUser{}, nil)
	}
	do(t, e.super, "POST", "/v1/admin/teams/"+team+"/users/mary."+team+"/subscriptions",
		charge.Subscription{Product: "autocad", From: bought.Add(-30 * charge.Day)}, nil)
	for _, n := range packs {
		do(t, e.super, "POST", "/v1/admin/teams/"+team+"/packs", api.BuyPack{Tokens: n}, nil)
	}
	return e.device(t, team, "pc-"+team)
}

func (e *env) device(t testing.TB, team, name string) *client.Client {
	t.Helper()
	var tok api.Token
	do(t, e.super, "POST", "/v1/admin/teams/"+team+"/enroll-tokens", api.NewEnrollToken{}, &tok)
	anon := client.New(e.url, "", nil)
	d, err := anon.Enroll(context.Background(), tok.Token, name)
	must(t, err)
	return anon.WithToken(d.Credential)
}

func (e *env) balance(t testing.TB, team string) api.Balance {
	t.Helper()
	var tm api.Team
	do(t, e.super, "GET", "/v1/admin/teams/"+team, nil, &tm)
	return tm.Balance
}

func charged(id, team, user, product string, start time.Time, tokens int64, hold string) api.Event {
	return api.Event{ID: id, Hold: hold, Effect: charge.Effect{
		Kind: charge.Charged, At: start.Add(charge.Grace), Device: "pc", User: user, Product: product,
		Key: charge.Key{Team: team, User: user, Product: product, Start: start}, Tokens: tokens,
	}}
}

func status(t testing.TB, err error) int {
	t.Helper()
	if err == nil {
		return http.StatusOK
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	t.Fatalf("not an answer of the ledger: %v", err)
	return 0
}

// superToken makes another super-admin token for raw requests.
func (e *env) superToken(t testing.TB) string {
	tok := store.NewSecret("tga_")
	must(t, e.db.CreateAdminToken(context.Background(), "", "raw", tok, bought))
	return tok
}

func asErr(err error, target **client.Error) bool { return errors.As(err, target) }
