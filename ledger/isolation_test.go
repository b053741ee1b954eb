package ledger_test

import (
	"context"
	"net/http"
	"testing"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

// TestIsolation tries every endpoint with a device and an admin of team A on team B:
// each is refused and B is unchanged.
func TestIsolation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		devA := e.studio(t, "a", 100)
		devB := e.studio(t, "b", 100)
		var tokA api.Token
		do(t, e.super, "POST", "/v1/admin/teams/a/admin-tokens", api.NewAdminToken{}, &tokA)
		adminA := client.New(e.url, tokA.Token, nil)

		// B has a hold and a charge of its own.
		hb, err := devB.Authorize(ctx, "mary.b", "revit", "hb")
		must(t, err)
		_, err = devB.Ingest(ctx, []api.Event{charged("b1", "b", "john.b", "revit", bought, 10, "")})
		must(t, err)
		before := e.balance(t, "b")
		var packsB []api.Pack
		do(t, e.super, "GET", "/v1/admin/teams/b/packs", nil, &packsB)

		// The device of A.
		devCalls := []struct {
			name string
			call func() error
			want int
		}{
			{"entitlement of B's user", func() error { _, err := devA.Entitlement(ctx, "mary.b"); return err }, http.StatusNotFound},
			{"authorize B's user", func() error { _, err := devA.Authorize(ctx, "mary.b", "revit", ""); return err }, http.StatusNotFound},
			{"charge B's key", func() error {
				_, err := devA.Ingest(ctx, []api.Event{charged("x", "b", "john.b", "revit", bought.Add(charge.Day), 10, "")})
				return err
			}, http.StatusUnprocessableEntity},
			{"charge B's user under A's key", func() error {
				_, err := devA.Ingest(ctx, []api.Event{charged("y", "a", "john.b", "revit", bought.Add(charge.Day), 10, "")})
				return err
			}, http.StatusUnprocessableEntity},
			{"admin API with a device credential", func() error {
				return client.New(e.url, "", nil).WithToken("tgd_x").Do(ctx, "GET", "/v1/admin/teams", nil, nil)
			}, http.StatusUnauthorized},
		}
		for _, c := range devCalls {
			if got := status(t, c.call()); got != c.want {
				t.Errorf("device of A, %s: got %d, want %d", c.name, got, c.want)
			}
		}
		// Releasing B's hold name from A's device releases nothing of B's: holds are per device.
		must(t, devA.Release(ctx, hb.Hold))

		// The admin of A.
		pathB := "/v1/admin/teams/b"
		adminCalls := []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/admin/teams", api.NewTeam{ID: "c"}},
			{"GET", pathB, nil},
			{"PUT", pathB + "/restrictions", api.Restrictions{Products: charge.Products{"autocad"}}},
			{"PUT", pathB + "/settings", api.Settings{Webhook: new("http://127.0.0.1:1/")}},
			{"POST", pathB + "/packs", api.BuyPack{Tokens: 100}},
			{"GET", pathB + "/packs", nil},
			{"POST", pathB + "/packs/" + packsB[0].ID + "/transfer", api.Transfer{To: "a"}},
			{"PUT", "/v1/admin/products/revit", api.Product{Rate: 1}},
			{"GET", pathB + "/users", nil},
			{"GET", pathB + "/users/mary.b", nil},
			{"PUT", pathB + "/users/mary.b", api.PutUser{}},
			{"PUT", pathB + "/users/eve", api.PutUser{}},
			{"POST", pathB + "/users/mary.b/subscriptions", charge.Subscription{Product: "revit", From: bought}},
			{"GET", pathB + "/devices", nil},
			{"POST", pathB + "/enroll-tokens", api.NewEnrollToken{}},
			{"POST", pathB + "/admin-tokens", api.NewAdminToken{}},
			{"POST", "/v1/admin/teams/a/admin-tokens", api.NewAdminToken{}},
			{"GET", pathB + "/notifications", nil},
			{"GET", pathB + "/reports/usage", nil},
			{"GET", pathB + "/reports/tokens", nil},
		}
		for _, c := range adminCalls {
			err := adminA.Do(ctx, c.method, c.path, c.body, nil)
			if got := status(t, err); got != http.StatusForbidden {
				t.Errorf("admin of A, %s %s: got %d (%v), want 403", c.method, c.path, got, err)
			}
		}
		// A's own pack cannot be given to B by A's admin either.
		var packsA []api.Pack
		do(t, adminA, "GET", "/v1/admin/teams/a/packs", nil, &packsA)
		err = adminA.Do(ctx, "POST", "/v1/admin/teams/a/packs/"+packsA[0].ID+"/transfer", api.Transfer{To: "b"}, nil)
		if got := status(t, err); got != http.StatusForbidden {
			t.Errorf("admin of A gives a pack to B: got %d, want 403", got)
		}
		// A's admin sees only A.
		var teams []api.Team
		do(t, adminA, "GET", "/v1/admin/teams", nil, &teams)
		if len(teams) != 1 || teams[0].ID != "a" {
			t.Errorf("admin of A lists teams: got %+v, want only a", teams)
		}
		// A pack id of B through A's path is not found.
		err = adminA.Do(ctx, "POST", "/v1/admin/teams/a/packs/"+packsB[0].ID+"/transfer", api.Transfer{To: "a"}, nil)
		if got := status(t, err); got != http.StatusBadRequest && got != http.StatusNotFound {
			t.Errorf("B's pack through A's path: got %d, want 400 or 404", got)
		}

		if after := e.balance(t, "b"); after != before {
			t.Errorf("B after A's attempts: got %+v, want %+v", after, before)
		}
		var u api.User
		do(t, e.super, "GET", pathB+"/users/mary.b", nil, &u)
		if len(u.Subscriptions) != 1 {
			t.Errorf("B's user after A's attempts: got %d subscriptions, want 1", len(u.Subscriptions))
		}
	})
}
