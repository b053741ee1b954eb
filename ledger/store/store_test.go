package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

var t0 = time.Date(2025, 11, 1, 8, 0, 0, 0, time.UTC)

// each runs a test against every kind of database, each with a fresh one, and checks
// after it that the balances recomputed from the movements equal the stored ones.
func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.URL(t, kind))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			fn(t, db)
			if err := db.Verify(ctx); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// fixture is a team "studio" with revit (10) and autocad (7) and users mary (assigned,
// subscribed to autocad) and bob (not assigned).
func fixture(t *testing.T, db *store.DB, packs ...int64) {
	t.Helper()
	ctx := context.Background()
	must(t, err2(db.CreateTeam(ctx, api.NewTeam{ID: "studio"}, t0)))
	must(t, err2(db.PutProduct(ctx, api.Product{ID: "revit", Rate: 10}, t0)))
	must(t, err2(db.PutProduct(ctx, api.Product{ID: "autocad", Rate: 7}, t0)))
	must(t, err2(db.PutUser(ctx, "studio", "mary", api.PutUser{})))
	no := false
	must(t, err2(db.PutUser(ctx, "studio", "bob", api.PutUser{Assigned: &no})))
	must(t, err2(db.AddSubscription(ctx, "studio", "mary", charge.Subscription{Product: "autocad", From: t0.Add(-charge.Day)})))
	for _, n := range packs {
		must(t, err2(db.BuyPack(ctx, "studio", api.BuyPack{Tokens: n}, t0)))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func err2[T any](_ T, err error) error { return err }

func available(t *testing.T, db *store.DB, team string, at time.Time) int64 {
	t.Helper()
	tm, err := db.Team(context.Background(), team, at)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Balance.Available
}

func TestMigrateAgain(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, kind)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() {
					db, err := store.Open(ctx, url)
					if err == nil {
						err = db.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Open #%d: got %v, want nil", i, err)
				}
			}
		})
	}
}

func TestPacks(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		must(t, err2(db.CreateTeam(ctx, api.NewTeam{ID: "other"}, t0)))
		tests := []struct {
			tokens int64
			code   string
		}{
			{99, api.CodeSmallOrder},
			{0, api.CodeSmallOrder},
			{-5, api.CodeSmallOrder},
			{charge.MaxPack + 1, api.CodeBadRequest},
			{100, ""},
		}
		for _, tt := range tests {
			_, err := db.BuyPack(ctx, "studio", api.BuyPack{Tokens: tt.tokens}, t0)
			if got := codeOf(err); got != tt.code {
				t.Errorf("BuyPack(%d): got code %q (%v), want %q", tt.tokens, got, err, tt.code)
			}
		}
		if got, want := available(t, db, "studio", t0), int64(100); got != want {
			t.Errorf("available after the 100 pack: got %d, want %d", got, want)
		}
		// The worked case: a pack bought 2025-11-01 is unusable from 2026-11-01.
		if got := available(t, db, "studio", time.Date(2026, 10, 31, 23, 59, 0, 0, time.UTC)); got != 100 {
			t.Errorf("available on 2026-10-31: got %d, want 100", got)
		}
		if got := available(t, db, "studio", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
			t.Errorf("available on 2026-11-01: got %d, want 0", got)
		}
	})
}

func TestTransfer(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		must(t, err2(db.CreateTeam(ctx, api.NewTeam{ID: "other"}, t0)))
		k, err := db.BuyPack(ctx, "studio", api.BuyPack{Tokens: 100}, t0)
		must(t, err)
		// Spend 40 of it, leaving 60.
		for i, p := range []string{"revit", "revit", "revit", "revit"} {
			ev := chargeEvent(fmt.Sprint("e", i), "mary", p, t0.Add(time.Duration(i)*charge.Day), 10)
			must(t, err2(db.Ingest(ctx, "studio", "dv_1", []api.Event{ev}, t0.Add(time.Duration(i)*charge.Day+time.Hour))))
		}
		now := t0.Add(5 * charge.Day)
		_, err = db.TransferPack(ctx, "studio", k.ID, api.Transfer{To: "other", Tokens: 40}, now)
		if got, want := codeOf(err), api.CodePartialTransfer; got != want {
			t.Errorf("moving 40 of 60: got code %q (%v), want %q", got, err, want)
		}
		moved, err := db.TransferPack(ctx, "studio", k.ID, api.Transfer{To: "other"}, now)
		must(t, err)
		if moved.Left != 60 || moved.Team != "other" {
			t.Errorf("moved pack: got %d tokens in %q, want 60 in other", moved.Left, moved.Team)
		}
		if got := available(t, db, "studio", now); got != 0 {
			t.Errorf("studio after the move: got %d, want 0", got)
		}
		if got := available(t, db, "other", now); got != 60 {
			t.Errorf("other after the move: got %d, want 60", got)
		}
		_, err = db.TransferPack(ctx, "studio", k.ID, api.Transfer{To: "other"}, now)
		if got, want := codeOf(err), api.CodeNotFound; got != want {
			t.Errorf("moving a pack no longer there: got %q, want %q", got, want)
		}
	})
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return store.Code(err)
}

func chargeEvent(id, user, product string, start time.Time, tokens int64) api.Event {
	return api.Event{ID: id, Effect: charge.Effect{
		Kind: charge.Charged, At: start.Add(charge.Grace), Device: "pc1", User: user, Product: product,
		Key: charge.Key{Team: "studio", User: user, Product: product, Start: start}, Tokens: tokens,
	}}
}

func TestAuthorize(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		must(t, err2(db.CreateTeam(ctx, api.NewTeam{ID: "small"}, t0)))
		// The worked case: 5 tokens, Revit costs 10: blocked; after a 100 pack: allowed.
		must(t, err2(db.Ingest(ctx, "studio", "dv_1", nil, t0)))
		tests := []struct {
			name, user, product string
			want                charge.Reason
		}{
			{"no tokens", "mary", "revit", charge.InsufficientTokens},
			{"subscription", "mary", "autocad", charge.Subscribed},
			{"not assigned", "bob", "revit", charge.NotAssigned},
		}
		for _, tt := range tests {
			a, err := db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: tt.user, Product: tt.product}, t0)
			must(t, err)
			if a.Decision.Reason != tt.want {
				t.Errorf("%s: got %s, want %s", tt.name, a.Decision.Reason, tt.want)
			}
		}
		must(t, err2(db.BuyPack(ctx, "studio", api.BuyPack{Tokens: 100}, t0)))
		a, err := db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit", Hold: "h1"}, t0)
		must(t, err)
		if a.Decision.Reason != charge.InGrace || a.HoldTokens != 10 {
			t.Errorf("after buying: got %s holding %d, want grace holding 10", a.Decision.Reason, a.HoldTokens)
		}
		// A retry of the same hold holds once.
		must(t, err2(db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit", Hold: "h1"}, t0)))
		if got := available(t, db, "studio", t0); got != 90 {
			t.Errorf("available with one hold: got %d, want 90", got)
		}
		must(t, db.Release(ctx, "studio", "dv_1", "h1", t0))
		if got := available(t, db, "studio", t0); got != 100 {
			t.Errorf("available after release: got %d, want 100", got)
		}
		// Restrictions: the team covers only autocad, then all again; a product added
		// later is covered by "all".
		must(t, err2(db.SetRestrictions(ctx, "studio", api.Restrictions{Products: charge.Products{"autocad"}}, t0)))
		a, _ = db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit"}, t0)
		if a.Decision.Reason != charge.ProductRestricted {
			t.Errorf("team restricted to autocad, revit: got %s, want %s", a.Decision.Reason, charge.ProductRestricted)
		}
		must(t, err2(db.SetRestrictions(ctx, "studio", api.Restrictions{Products: charge.Products{"*"}}, t0)))
		must(t, err2(db.PutProduct(ctx, api.Product{ID: "maya", Rate: 12}, t0)))
		a, _ = db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "maya", Hold: "h2"}, t0)
		if a.Decision.Reason != charge.InGrace {
			t.Errorf("all products, maya added later: got %s, want %s", a.Decision.Reason, charge.InGrace)
		}
		_, err = db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "nosuch"}, t0)
		if got := codeOf(err); got != api.CodeNotFound {
			t.Errorf("unknown product: got %q, want %q", got, api.CodeNotFound)
		}
		_, err = db.Authorize(ctx, "small", "dv_1", api.Authorize{User: "mary", Product: "revit"}, t0)
		if got := codeOf(err); got != api.CodeNotFound {
			t.Errorf("mary from another team: got %q, want %q", got, api.CodeNotFound)
		}
		// A hold left by a device that died is released after a day.
		if got := available(t, db, "studio", t0.Add(store.StaleHold+time.Minute)); got != 100 {
			t.Errorf("available after the stale hold: got %d, want 100", got)
		}
	})
}

func TestIngest(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		now := t0.Add(3 * time.Hour)
		a, err := db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit", Hold: "h1"}, t0)
		must(t, err)
		first := chargeEvent("e1", "mary", "revit", t0, 10)
		first.Hold = a.Hold
		tests := []struct {
			name   string
			device string
			at     time.Time
			ev     api.Event
			want   string
			avail  int64
		}{
			{"first charge commits the hold", "dv_1", now, first, api.Accepted, 90},
			{"same event again", "dv_1", now, first, api.Duplicate, 90},
			{"same key, other event id", "dv_1", now, chargeEvent("e2", "mary", "revit", t0, 10), api.Duplicate, 90},
			{"same key, other amount", "dv_1", now, chargeEvent("e3", "mary", "revit", t0, 12), api.Refused, 90},
			{"overlapping window from another device", "dv_2", now, chargeEvent("x1", "mary", "revit", t0.Add(2*time.Hour), 10), api.Folded, 90},
			{"another product the same day", "dv_1", now, chargeEvent("e4", "mary", "autocad", t0, 7), api.Accepted, 83},
			{"the next window", "dv_1", t0.Add(charge.Day + time.Hour), chargeEvent("e5", "mary", "revit", t0.Add(charge.Day), 10), api.Accepted, 73},
			{"replayed after 31 days", "dv_1", t0.Add(31 * charge.Day), chargeEvent("e1", "mary", "revit", t0, 10), api.Duplicate, 73},
			{"replayed after 31 days, new id", "dv_3", t0.Add(31 * charge.Day), chargeEvent("z1", "mary", "revit", t0, 10), api.Duplicate, 73},
		}
		for _, tt := range tests {
			rs, err := db.Ingest(ctx, "studio", tt.device, []api.Event{tt.ev}, tt.at)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := rs[0].Status; got != tt.want {
				t.Errorf("%s: got %s (%s), want %s", tt.name, got, rs[0].Message, tt.want)
			}
			if got := available(t, db, "studio", tt.at); got != tt.avail {
				t.Errorf("%s: available got %d, want %d", tt.name, got, tt.avail)
			}
		}
		rep, err := db.Tokens(ctx, "studio", t0.Add(-charge.Day), t0.Add(40*charge.Day), t0.Add(40*charge.Day))
		must(t, err)
		if got, want := len(rep.Refused), 4; got != want {
			t.Errorf("refused charges in the report: got %d, want %d", got, want)
		}
	})
}

func TestIngestInvalid(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		now := t0.Add(time.Hour)
		ok := chargeEvent("ok", "mary", "revit", t0, 10)
		mod := func(f func(*api.Event)) api.Event {
			e := chargeEvent("bad", "mary", "revit", t0, 10)
			f(&e)
			return e
		}
		tests := []struct {
			name string
			ev   api.Event
			code string
		}{
			{"unknown product", mod(func(e *api.Event) { e.Product, e.Key.Product = "nosuch", "nosuch" }), api.CodeNotFound},
			{"negative tokens", mod(func(e *api.Event) { e.Tokens = -10 }), api.CodeBadRequest},
			{"huge tokens", mod(func(e *api.Event) { e.Tokens = 1 << 60 }), api.CodeBadRequest},
			{"zero tokens", mod(func(e *api.Event) { e.Tokens = 0 }), api.CodeBadRequest},
			{"far future", mod(func(e *api.Event) { e.At = now.Add(1000 * charge.Day) }), api.CodeBadRequest},
			{"window in the future", mod(func(e *api.Event) { e.Key.Start = now.Add(48 * time.Hour) }), api.CodeBadRequest},
			{"far past", mod(func(e *api.Event) { e.At = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC) }), api.CodeBadRequest},
			{"another team's key", mod(func(e *api.Event) { e.Key.Team = "other" }), api.CodeForbidden},
			{"unknown user", mod(func(e *api.Event) { e.User, e.Key.User = "eve", "eve" }), api.CodeNotFound},
			{"no id", mod(func(e *api.Event) { e.ID = "" }), api.CodeBadRequest},
			{"unknown kind", mod(func(e *api.Event) { e.Kind = "stolen" }), api.CodeBadRequest},
		}
		for _, tt := range tests {
			_, err := db.Ingest(ctx, "studio", "dv_1", []api.Event{ok, tt.ev}, now)
			var se *store.Error
			if !errors.As(err, &se) || se.Code != api.CodeInvalidEvents || len(se.Events) != 1 || se.Events[0].Code != tt.code {
				t.Errorf("%s: got %v %+v, want %s with one event refused %s", tt.name, err, se, api.CodeInvalidEvents, tt.code)
			}
			if got := available(t, db, "studio", now); got != 100 {
				t.Errorf("%s: available got %d, want 100: nothing stored", tt.name, got)
			}
		}
		rep, err := db.Usage(ctx, "studio", t0.Add(-charge.Day), t0.Add(charge.Day))
		must(t, err)
		if len(rep) != 0 {
			t.Errorf("usage after refused batches: got %v, want none", rep)
		}
	})
}

func TestAlerts(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100) // the limit: 20% of 100 = 20
		steps := []struct {
			charges int      // Revit days charged so far, 10 each
			want    []string // every notice so far, the newest first
		}{
			{1, nil},                               // 90
			{8, nil},                               // 20: not below the limit
			{9, []string{"low_balance"}},           // 10: below, once
			{10, []string{"empty", "low_balance"}}, // 0: again at zero
			{11, []string{"overdraw", "empty", "low_balance"}}, // -10, overdrawn: admins are told, with the debt
		}
		day := 0
		for _, s := range steps {
			for ; day < s.charges; day++ {
				st := t0.Add(time.Duration(day) * charge.Day)
				must(t, err2(db.Ingest(ctx, "studio", "dv_1", []api.Event{chargeEvent(fmt.Sprint("d", day), "mary", "revit", st, 10)}, st.Add(time.Hour))))
			}
			ns, err := db.Notifications(ctx, "studio")
			must(t, err)
			var got []string
			for _, n := range ns {
				got = append(got, string(n.Kind))
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Errorf("after %d charges: got notices %v, want %v", s.charges, got, s.want)
			}
		}
		now := t0.Add(11 * charge.Day)
		tm, err := db.Team(ctx, "studio", now)
		must(t, err)
		if tm.Balance.Debt != 10 || tm.Balance.Available != -10 {
			t.Errorf("overdrawn: got debt %d available %d, want 10 and -10", tm.Balance.Debt, tm.Balance.Available)
		}
		// A new pack pays the debt first.
		must(t, err2(db.BuyPack(ctx, "studio", api.BuyPack{Tokens: 200}, now)))
		if got := available(t, db, "studio", now); got != 190 {
			t.Errorf("after a 200 pack with 10 debt: got %d, want 190", got)
		}
	})
}

func TestSweep(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		must(t, db.Sweep(ctx, t0.Add(200*charge.Day)))
		must(t, db.Sweep(ctx, t0.Add(300*charge.Day)))
		ns, err := db.Notifications(ctx, "studio")
		must(t, err)
		if len(ns) != 1 || ns[0].Kind != "expiring" {
			t.Fatalf("after two sweeps within 90 days of expiry: got %+v, want one expiring notice", ns)
		}
		expiry := t0.AddDate(1, 0, 0)
		must(t, db.Sweep(ctx, expiry))
		rep, err := db.Tokens(ctx, "studio", t0, expiry.Add(time.Hour), expiry)
		must(t, err)
		last := rep.History[len(rep.History)-1]
		if last.Kind != api.MoveForfeit || last.Tokens != -100 || last.Balance != 0 {
			t.Errorf("at expiry: got last movement %+v, want a forfeit of 100 leaving 0", last)
		}
	})
}

// TestConcurrentHolds is the exhaustion race on one store: a balance of exactly one
// Revit day and many authorizations at once: exactly one is allowed.
func TestConcurrentHolds(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		for i := range 9 {
			st := t0.Add(time.Duration(i) * charge.Day)
			must(t, err2(db.Ingest(ctx, "studio", "dv_1", []api.Event{chargeEvent(fmt.Sprint("d", i), "mary", "revit", st, 10)}, st)))
		}
		now := t0.Add(9 * charge.Day)
		var wg sync.WaitGroup
		allowed := make(chan string, 20)
		for i := range 20 {
			wg.Go(func() {
				a, err := db.Authorize(ctx, "studio", fmt.Sprint("dv_", i), api.Authorize{User: "mary", Product: "revit"}, now)
				if err != nil {
					t.Error(err)
					return
				}
				if a.Decision.Allowed {
					allowed <- a.Hold
				}
			})
		}
		wg.Wait()
		close(allowed)
		if got := len(allowed); got != 1 {
			t.Errorf("allowed: got %d, want 1", got)
		}
	})
}
