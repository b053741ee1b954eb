package ledger_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

// TestWorkedCases runs the worked cases of charging.md through the HTTP API.
func TestWorkedCases(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		pc := e.studio(t, "studio", 100)
		mary, john := "mary.studio", "john.studio"
		at := func(ts time.Time) { e.clock.Set(ts) }
		authorize := func(user, product, hold string, want charge.Reason) api.Authorized {
			t.Helper()
			a, err := pc.Authorize(ctx, user, product, hold)
			must(t, err)
			if a.Decision.Reason != want {
				t.Fatalf("%s launches %s at %s: got %s, want %s", user, product, e.clock.Now().Format(time.RFC3339), a.Decision.Reason, want)
			}
			return a
		}
		ingest := func(ev api.Event, want string) {
			t.Helper()
			rs, err := pc.Ingest(ctx, []api.Event{ev})
			must(t, err)
			if rs[0].Status != want {
				t.Fatalf("event %s: got %s (%s), want %s", ev.ID, rs[0].Status, rs[0].Message, want)
			}
		}
		wantAvailable := func(what string, want int64) {
			t.Helper()
			if got := e.balance(t, "studio").Available; got != want {
				t.Fatalf("%s: available got %d, want %d", what, got, want)
			}
		}

		// Mary has a subscription to AutoCAD: it costs her nothing. Revit costs its rate.
		at(monday.Add(-12 * time.Hour))
		a := authorize(mary, "autocad", "", charge.Subscribed)
		if a.Hold != "" {
			t.Errorf("subscription launch: got hold %q, want none", a.Hold)
		}
		a = authorize(mary, "revit", "mistake", charge.InGrace)
		wantAvailable("Revit in grace holds its rate", 90)
		// Opened Revit by mistake, closed it after 3 minutes: 0 tokens.
		must(t, pc.Release(ctx, a.Hold))
		wantAvailable("released after 3 minutes", 100)

		// Revit opened Monday 08:00, closed 09:00, reopened Tuesday 07:00: one charge;
		// still open at Tuesday 08:00: a second charge then.
		mon8 := monday.Add(8 * time.Hour)
		at(mon8)
		a = authorize(mary, "revit", "s1", charge.InGrace)
		at(mon8.Add(charge.Grace))
		ingest(charged("m1", "studio", mary, "revit", mon8, 10, a.Hold), api.Accepted)
		wantAvailable("Monday's Revit window", 90)
		at(mon8.Add(23 * time.Hour))
		en, err := pc.Entitlement(ctx, mary)
		must(t, err)
		if w, ok := en.Window("revit", e.clock.Now()); !ok || !w.Key.Start.Equal(mon8) {
			t.Errorf("Tuesday 07:00 entitlement: got windows %+v, want Monday 08:00's", en.Windows)
		}
		authorize(mary, "revit", "s2", charge.PaidWindow)
		at(mon8.Add(charge.Day))
		renewal := charged("m2", "studio", mary, "revit", mon8.Add(charge.Day), 10, "")
		renewal.Renewal = true
		ingest(renewal, api.Accepted)
		wantAvailable("the renewal at Tuesday 08:00", 80)

		// Revit opened Monday 19:00, closed Tuesday 17:00: one charge. John has no
		// subscription: Revit (10) and AutoCAD (7) on Monday cost 17.
		mon19 := monday.Add(19 * time.Hour)
		at(mon19)
		a = authorize(john, "revit", "j1", charge.InGrace)
		at(mon19.Add(charge.Grace))
		ingest(charged("j1", "studio", john, "revit", mon19, 10, a.Hold), api.Accepted)
		at(mon19.Add(time.Hour))
		a = authorize(john, "autocad", "j2", charge.InGrace)
		at(mon19.Add(time.Hour + charge.Grace))
		ingest(charged("j2", "studio", john, "autocad", mon19.Add(time.Hour), 7, a.Hold), api.Accepted)
		at(monday.Add(24*time.Hour + 17*time.Hour))
		authorize(john, "revit", "j3", charge.PaidWindow)
		wantAvailable("John's Monday", 63)
		var rep api.TokenReport
		do(t, e.super, "GET", "/v1/admin/teams/studio/reports/tokens?from=2025-11-03&to=2025-11-04", nil, &rep)
		var johnMonday int64
		for _, d := range rep.Daily {
			if d.User == john {
				johnMonday += d.Tokens
			}
		}
		if johnMonday != 17 {
			t.Errorf("John's tokens on Monday: got %d, want 17 (report %+v)", johnMonday, rep.Daily)
		}

		// The team has 5 tokens, Revit costs 10: blocked; after a 100 pack: allowed.
		small := e.studio(t, "small", 100)
		do(t, e.super, "PUT", "/v1/admin/products/filler", api.Product{Rate: 95}, nil)
		now := e.clock.Now()
		rs, err := small.Ingest(ctx, []api.Event{charged("f", "small", "john.small", "filler", now, 95, "")})
		must(t, err)
		if rs[0].Status != api.Accepted || e.balance(t, "small").Available != 5 {
			t.Fatalf("spending 95 of 100: got %+v and %d left, want accepted and 5", rs[0], e.balance(t, "small").Available)
		}
		b, err := small.Authorize(ctx, "mary.small", "revit", "")
		must(t, err)
		if b.Decision.Reason != charge.InsufficientTokens || b.Decision.Allowed {
			t.Errorf("5 tokens, Revit 10: got %+v, want insufficient_tokens", b.Decision)
		}
		do(t, e.super, "POST", "/v1/admin/teams/small/packs", api.BuyPack{Tokens: 100}, nil)
		if b, _ = small.Authorize(ctx, "mary.small", "revit", ""); b.Decision.Reason != charge.InGrace {
			t.Errorf("after a 100 pack: got %s, want grace", b.Decision.Reason)
		}

		// A 99-token order is refused.
		err = e.super.Do(ctx, "POST", "/v1/admin/teams/studio/packs", api.BuyPack{Tokens: 99}, nil)
		if got := client.Code(err); got != api.CodeSmallOrder || status(t, err) != http.StatusUnprocessableEntity {
			t.Errorf("a 99-token order: got %v, want 422 %s", err, api.CodeSmallOrder)
		}

		// Moving 40 of a pack's 63 remaining tokens is refused; moving the pack moves 63.
		do(t, e.super, "POST", "/v1/admin/teams", api.NewTeam{ID: "other"}, nil)
		var ps []api.Pack
		do(t, e.super, "GET", "/v1/admin/teams/studio/packs", nil, &ps)
		path := "/v1/admin/teams/studio/packs/" + ps[0].ID + "/transfer"
		err = e.super.Do(ctx, "POST", path, api.Transfer{To: "other", Tokens: 40}, nil)
		if got := client.Code(err); got != api.CodePartialTransfer {
			t.Errorf("moving 40 of 63: got %v, want %s", err, api.CodePartialTransfer)
		}
		var moved api.Pack
		do(t, e.super, "POST", path, api.Transfer{To: "other"}, &moved)
		if moved.Left != 63 || e.balance(t, "other").Unexpired != 63 || e.balance(t, "studio").Unexpired != 0 {
			t.Errorf("moving the pack: got %+v, want all 63 tokens in other", moved)
		}

		// A pack bought 2025-11-01 is unusable from 2026-11-01.
		at(time.Date(2026, 10, 31, 23, 59, 59, 0, time.UTC))
		if got := e.balance(t, "other").Unexpired; got != 63 {
			t.Errorf("2026-10-31: got %d, want 63", got)
		}
		at(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		if got := e.balance(t, "other").Unexpired; got != 0 {
			t.Errorf("2026-11-01: got %d, want 0", got)
		}
		must(t, e.srv.Sweep(ctx))
		do(t, e.super, "GET", "/v1/admin/teams/other/reports/tokens?from=2025-11-01&to=2026-12-01", nil, &rep)
		if last := rep.History[len(rep.History)-1]; last.Kind != "forfeit" || last.Tokens != -63 {
			t.Errorf("after expiry: got last movement %+v, want a forfeit of 63", last)
		}
	})
}
