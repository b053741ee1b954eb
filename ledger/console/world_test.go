package console_test

import (
	"context"
	"fmt"
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

// November 2025: Saturday the 1st to Sunday the 30th; the tests look on Monday 1 December.
var (
	month = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	after = time.Date(2025, 12, 1, 8, 0, 0, 0, time.UTC)
)

// world is a real ledger on a real listener over a fresh database of one kind, with a
// month of use synced by enrolled devices through the agent API.
type world struct {
	url        string
	db         *store.DB
	clock      *clocktest.Clock
	super      string // super-admin token
	studio     string // studio's admin token
	harbour    string // harbour's admin token
	devices    map[string]*client.Client
	tokens     map[string]int64 // tokens charged per user
	total      int64
	bought     int64
	xssDevice  string
	xssTeam    string
	otherUser  string
	otherTotal int64
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newWorld(t testing.TB, kind string) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{clock: clocktest.New(month), devices: map[string]*client.Client{}, tokens: map[string]int64{},
		xssDevice: `<script>alert("device")</script>`, xssTeam: `<img src=x onerror=alert("team")>`, otherUser: "eve.harbour"}
	db, err := store.Open(ctx, storetest.URL(t, kind))
	must(t, err)
	t.Cleanup(func() { db.Close() })
	w.db = db
	srv := ledger.New(ledger.Options{Store: db, Clock: w.clock})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	w.url = hs.URL
	w.super, w.studio, w.harbour = store.NewSecret("tga_"), store.NewSecret("tga_"), store.NewSecret("tga_")

	_, err = db.CreateTeam(ctx, api.NewTeam{ID: "studio", Name: "Studio"}, month)
	must(t, err)
	_, err = db.CreateTeam(ctx, api.NewTeam{ID: "harbour", Name: w.xssTeam}, month)
	must(t, err)
	must(t, db.CreateAdminToken(ctx, "", "super", w.super, month))
	must(t, db.CreateAdminToken(ctx, "studio", "studio admin", w.studio, month))
	must(t, db.CreateAdminToken(ctx, "harbour", "harbour admin", w.harbour, month))
	for _, p := range []api.Product{{ID: "revit", Name: "Revit", Rate: 10}, {ID: "autocad", Name: "AutoCAD", Rate: 7}} {
		_, err := db.PutProduct(ctx, p, month)
		must(t, err)
	}
	for _, u := range []struct{ team, user string }{{"studio", "mary.studio"}, {"studio", "john.studio"}, {"studio", "ann.studio"}, {"harbour", w.otherUser}} {
		_, err := db.PutUser(ctx, u.team, u.user, api.PutUser{})
		must(t, err)
	}
	_, err = db.BuyPack(ctx, "studio", api.BuyPack{Tokens: 5000}, month)
	must(t, err)
	_, err = db.BuyPack(ctx, "harbour", api.BuyPack{Tokens: 1000}, month)
	must(t, err)
	w.bought = 5000

	enroll := func(team, name string) *client.Client {
		tok, err := db.CreateEnrollToken(ctx, team, month, month.Add(30*charge.Day))
		must(t, err)
		anon := client.New(w.url, "", nil)
		d, err := anon.Enroll(ctx, tok.Token, name)
		must(t, err)
		return anon.WithToken(d.Credential)
	}
	for _, n := range []string{"pc-mary", "pc-john", "pc-ann"} {
		w.devices[n] = enroll("studio", n)
	}
	w.devices["pc-eve"] = enroll("harbour", "pc-eve")
	enroll("studio", w.xssDevice)

	// The month: mary uses Revit every weekday, john AutoCAD Monday, Wednesday and
	// Friday, ann Revit on five days; eve at harbour Revit on Tuesdays.
	for d := 0; d < 30; d++ {
		day := month.Add(time.Duration(d) * charge.Day)
		wd := day.Weekday()
		if wd >= time.Monday && wd <= time.Friday {
			w.use(t, "pc-mary", "studio", "mary.studio", "revit", 10, day.Add(9*time.Hour))
		}
		if wd == time.Monday || wd == time.Wednesday || wd == time.Friday {
			w.use(t, "pc-john", "studio", "john.studio", "autocad", 7, day.Add(10*time.Hour))
		}
		if d%6 == 3 {
			w.use(t, "pc-ann", "studio", "ann.studio", "revit", 10, day.Add(13*time.Hour))
		}
		if wd == time.Tuesday {
			w.use(t, "pc-eve", "harbour", w.otherUser, "revit", 10, day.Add(11*time.Hour))
			w.otherTotal += 10
		}
	}
	w.clock.Set(after)
	return w
}

// use is one working day: the session opens, its grace runs out and the window is
// charged, it ends five hours later; the device syncs the three events then.
func (w *world) use(t testing.TB, device, team, user, product string, rate int64, at time.Time) {
	t.Helper()
	end := at.Add(5 * time.Hour)
	w.clock.Set(end)
	id := fmt.Sprintf("%s-%s-%s", user, product, at.Format("20060102T1504"))
	fx := func(kind charge.Kind, when time.Time) charge.Effect {
		return charge.Effect{Kind: kind, At: when, Device: device, User: user, Product: product}
	}
	open, ended := fx(charge.Opened, at), fx(charge.Ended, end)
	ended.Use = 5 * time.Hour
	paid := fx(charge.Charged, at.Add(charge.Grace))
	paid.Key, paid.Tokens = charge.Key{Team: team, User: user, Product: product, Start: at}, rate
	rs, err := w.devices[device].Ingest(context.Background(), []api.Event{{ID: id + "-o", Effect: open}, {ID: id + "-c", Effect: paid}, {ID: id + "-e", Effect: ended}})
	must(t, err)
	if rs[1].Status != api.Accepted {
		t.Fatalf("charge %s: %+v", id, rs[1])
	}
	if team == "studio" {
		w.tokens[user] += rate
		w.total += rate
	}
}
