package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

func budgetNotices(t *testing.T, db *store.DB) []api.BudgetNotice {
	t.Helper()
	ns, err := db.Notifications(context.Background(), "studio")
	must(t, err)
	var out []api.BudgetNotice
	for i := len(ns) - 1; i >= 0; i-- {
		if ns[i].Kind != "budget" {
			continue
		}
		var b api.BudgetNotice
		must(t, json.Unmarshal(ns[i].Payload, &b))
		out = append(out, b)
	}
	return out
}

func TestBudgets(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 1000)
		yes := true
		must(t, err2(db.PutUser(ctx, "studio", "bob", api.PutUser{Assigned: &yes})))
		// mary may start 20 tokens of charges this month: two days of revit.
		must(t, err2(db.SetBudget(ctx, "studio", api.SetBudget{User: "mary", Period: charge.PerMonth, Tokens: 20}, t0)))
		must(t, err2(db.PutProduct(ctx, api.Product{ID: "maya", Rate: 10}, t0)))
		product := "revit"
		auth := func(user, hold string, at time.Time) charge.Reason {
			t.Helper()
			a, err := db.Authorize(ctx, "studio", "dv_"+hold, api.Authorize{User: user, Product: product, Hold: hold}, at)
			must(t, err)
			return a.Decision.Reason
		}
		if got := auth("mary", "h1", t0); got != charge.InGrace {
			t.Fatalf("first launch: got %s, want grace", got)
		}
		// Holds count: a second launch on another device takes 20 of 20, a third is refused.
		if got := auth("mary", "h2", t0); got != charge.InGrace {
			t.Fatalf("second launch (10 held of 20): got %s, want grace", got)
		}
		a, err := db.Authorize(ctx, "studio", "dv_h3", api.Authorize{User: "mary", Product: "revit", Hold: "h3"}, t0)
		must(t, err)
		if a.Decision.Reason != charge.BudgetExceeded || a.Decision.Budget == nil || a.Decision.Budget.Used != 20 {
			t.Fatalf("third launch with 20 held of 20: got %s %+v, want budget_exceeded with 20 used", a.Decision.Reason, a.Decision.Budget)
		}
		// Only mary is capped.
		if got := auth("bob", "h4", t0); got != charge.InGrace {
			t.Errorf("bob: got %s, want grace", got)
		}
		// Both crossings told once each: 10/20 is below 80 %, 20/20 is 100 % (80 % too).
		if got := budgetNotices(t, db); len(got) != 2 || got[0].Level != 80 || got[1].Level != 100 {
			t.Fatalf("notices: got %+v, want 80 then 100", got)
		}
		// Charging the held window does not tell again.
		ev := chargeEvent("c1", "mary", "revit", t0, 10)
		ev.Hold = "h1"
		must(t, err2(db.Ingest(ctx, "studio", "dv_h1", []api.Event{ev}, t0.Add(5*time.Minute))))
		if got := budgetNotices(t, db); len(got) != 2 {
			t.Errorf("after the charge: got %d notices, want still 2", len(got))
		}
		// An extension lets one more day in (of another product: revit is paid), until it expires.
		product = "maya"
		until := t0.Add(2 * time.Hour)
		_, err = db.ExtendBudget(ctx, "studio", api.ExtendBudget{User: "mary", Tokens: 10, Until: until}, t0.Add(time.Hour))
		must(t, err)
		if got := auth("mary", "h5", t0.Add(time.Hour)); got != charge.InGrace {
			t.Errorf("with the extension: got %s, want grace", got)
		}
		must(t, db.Release(ctx, "studio", "dv_h5", "h5", t0.Add(time.Hour)))
		if got := auth("mary", "h5", until); got != charge.BudgetExceeded {
			t.Errorf("after the extension expired: got %s, want budget_exceeded", got)
		}
		// Next month starts over (the day is within the offline allowance of a fresh snapshot).
		next := charge.PerMonth.End(t0)
		must(t, db.Release(ctx, "studio", "dv_h2", "h2", next))
		product = "revit"
		if got := auth("mary", "h6", next); got != charge.InGrace {
			t.Errorf("next month: got %s, want grace", got)
		}
		// The snapshot carries the caller's caps.
		e, err := db.Entitlement(ctx, "studio", "mary", next)
		must(t, err)
		if len(e.Budgets) != 1 || e.Budgets[0].Used != 10 || e.Budgets[0].Tokens != 20 {
			t.Errorf("snapshot budgets: got %+v, want mary's month cap with 10 used", e.Budgets)
		}
		e, err = db.Entitlement(ctx, "studio", "bob", next)
		must(t, err)
		if len(e.Budgets) != 0 {
			t.Errorf("bob's snapshot: got %+v, want no caps", e.Budgets)
		}
	})
}

func TestBudgetScopes(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 1000)
		yes := true
		must(t, err2(db.PutUser(ctx, "studio", "bob", api.PutUser{Assigned: &yes})))
		must(t, err2(db.SetBudget(ctx, "studio", api.SetBudget{Product: "revit", Period: charge.PerDay, Tokens: 10}, t0)))
		must(t, err2(db.SetBudget(ctx, "studio", api.SetBudget{Period: charge.PerDay, Tokens: 20}, t0)))
		auth := func(dev, user, product string) charge.Reason {
			t.Helper()
			must(t, err2(db.PutUser(ctx, "studio", user, api.PutUser{Assigned: &yes})))
			a, err := db.Authorize(ctx, "studio", dev, api.Authorize{User: user, Product: product}, t0)
			must(t, err)
			return a.Decision.Reason
		}
		for i, tt := range []struct {
			user, product string
			want          charge.Reason
		}{
			{"mary", "revit", charge.InGrace},           // revit 10/10, team 10/20
			{"bob", "revit", charge.BudgetExceeded},     // the product cap binds everyone
			{"bob", "autocad", charge.InGrace},          // team 17/20
			{"carol", "autocad", charge.BudgetExceeded}, // team cap: 24 > 20
		} {
			if got := auth(fmt.Sprint("dv_", i), tt.user, tt.product); got != tt.want {
				t.Errorf("%s launching %s: got %s, want %s", tt.user, tt.product, got, tt.want)
			}
		}
		bs, err := db.Budgets(ctx, "studio", t0)
		must(t, err)
		if len(bs) != 2 {
			t.Fatalf("list: got %+v, want 2 caps", bs)
		}
		must(t, db.RemoveBudget(ctx, "studio", "", "revit", charge.PerDay, t0))
		if got := codeOf(db.RemoveBudget(ctx, "studio", "", "revit", charge.PerDay, t0)); got != api.CodeNotFound {
			t.Errorf("removing twice: got code %q, want %q", got, api.CodeNotFound)
		}
	})
}

func TestBudgetInput(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 1000)
		must(t, err2(db.SetBudget(ctx, "studio", api.SetBudget{User: "mary", Period: charge.PerDay, Tokens: 20}, t0)))
		for _, tt := range []struct {
			name string
			err  error
			want string
		}{
			{"bad period", err2(db.SetBudget(ctx, "studio", api.SetBudget{Period: "week", Tokens: 1}, t0)), api.CodeBadRequest},
			{"negative cap", err2(db.SetBudget(ctx, "studio", api.SetBudget{Period: charge.PerDay, Tokens: -1}, t0)), api.CodeBadRequest},
			{"user and product", err2(db.SetBudget(ctx, "studio", api.SetBudget{User: "mary", Product: "revit", Period: charge.PerDay, Tokens: 1}, t0)), api.CodeBadRequest},
			{"unknown user", err2(db.SetBudget(ctx, "studio", api.SetBudget{User: "nobody", Period: charge.PerDay, Tokens: 1}, t0)), api.CodeNotFound},
			{"unknown product", err2(db.SetBudget(ctx, "studio", api.SetBudget{Product: "maya", Period: charge.PerDay, Tokens: 1}, t0)), api.CodeNotFound},
			{"control characters", err2(db.SetBudget(ctx, "studio", api.SetBudget{User: "ma\x00ry", Period: charge.PerDay, Tokens: 1}, t0)), api.CodeBadRequest},
			{"unknown team", err2(db.SetBudget(ctx, "nope", api.SetBudget{Period: charge.PerDay, Tokens: 1}, t0)), api.CodeNotFound},
			{"extension past 2200", err2(db.ExtendBudget(ctx, "studio", api.ExtendBudget{User: "mary", Tokens: 5, Until: time.Date(2201, 1, 1, 0, 0, 0, 0, time.UTC)}, t0)), api.CodeBadRequest},
			{"extension in the past", err2(db.ExtendBudget(ctx, "studio", api.ExtendBudget{User: "mary", Tokens: 5, Until: t0.Add(-time.Hour)}, t0)), api.CodeBadRequest},
			{"extension of nothing", err2(db.ExtendBudget(ctx, "studio", api.ExtendBudget{Product: "revit", Tokens: 5, Until: t0.Add(time.Hour)}, t0)), api.CodeNotFound},
			{"extension of no tokens", err2(db.ExtendBudget(ctx, "studio", api.ExtendBudget{User: "mary", Until: t0.Add(time.Hour)}, t0)), api.CodeBadRequest},
		} {
			if got := codeOf(tt.err); got != tt.want {
				t.Errorf("%s: got code %q (%v), want %q", tt.name, got, tt.err, tt.want)
			}
		}
		bs, err := db.Budgets(ctx, "studio", t0)
		must(t, err)
		if len(bs) != 1 || bs[0].Tokens != 20 || bs[0].Extra != 0 {
			t.Errorf("after bad input: got %+v, want the one cap unchanged", bs)
		}
	})
}
