package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/ledgertest"
	"tollgate/ledger/store/storetest"
)

// The fault tests of issue 9 that concern what the ledger takes in: each fails on the
// code before the fix, on both stores, through the real HTTP server and, for the
// command line, the real binary.

const rangeWords = "2000-01-01 to 2200-01-01"

// cli runs `tollgate ledger ARGS` of the real binary as p's super-admin, and returns
// what it printed and whether it failed.
func cli(p *ledgertest.Proc, args ...string) (string, error) {
	c := exec.Command(p.Bin, append([]string{"ledger"}, args...)...)
	c.Env = append(os.Environ(), "TOLLGATE_LEDGER_URL="+p.URL, "TOLLGATE_ADMIN_TOKEN="+p.Token)
	out, err := c.CombinedOutput()
	return string(out), err
}

// TestFaultDatesOutOfRange (item 3): a subscription until 9999-12-31 was stored as
// 1816-03-29, one until 1970-01-01 as open-ended. Out-of-range times are now refused on
// the admin API, the agent API and the report spans, saying which range is accepted;
// the edges are stored and read back exactly.
func TestFaultDatesOutOfRange(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 100)
		path := "/v1/admin/teams/studio/users/john.studio"
		refused := []struct {
			name string
			sub  charge.Subscription
		}{
			{"until 9999-12-31", charge.Subscription{Product: "revit", From: bought, Until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}},
			{"until 1970-01-01", charge.Subscription{Product: "revit", From: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Unix(0, 0).UTC()}},
			{"from 1970-01-01", charge.Subscription{Product: "revit", From: time.Unix(0, 0).UTC(), Until: bought}},
		}
		for _, r := range refused {
			err := e.super.Do(ctx, "POST", path+"/subscriptions", r.sub, nil)
			if got := status(t, err); got != http.StatusBadRequest || !strings.Contains(err.Error(), rangeWords) {
				t.Errorf("subscription %s: got %d %v, want 400 naming %s", r.name, got, err, rangeWords)
			}
		}
		edge := charge.Subscription{Product: "revit", From: charge.MinTime(), Until: charge.MaxTime()}
		do(t, e.super, "POST", path+"/subscriptions", edge, nil)
		var u api.User
		do(t, e.super, "GET", path, nil, &u)
		if len(u.Subscriptions) != 1 || !u.Subscriptions[0].From.Equal(edge.From) || !u.Subscriptions[0].Until.Equal(edge.Until) {
			t.Errorf("subscriptions read back: got %+v, want only %v..%v", u.Subscriptions, edge.From, edge.Until)
		}

		for _, q := range []string{"from=1900-01-01", "to=9999-12-31", "from=1970-01-01&to=2026-01-01"} {
			err := e.super.Do(ctx, "GET", "/v1/admin/teams/studio/reports/usage?"+q, nil, nil)
			if got := status(t, err); got != http.StatusBadRequest || !strings.Contains(err.Error(), rangeWords) {
				t.Errorf("report %s: got %d %v, want 400 naming %s", q, got, err, rangeWords)
			}
		}

		ev := charged("old", "studio", "john.studio", "revit", time.Unix(0, 0).UTC(), 10, "")
		_, err := dev.Ingest(ctx, []api.Event{ev})
		var ce *client.Error
		if !asErr(err, &ce) || ce.Status != http.StatusUnprocessableEntity || len(ce.Events) != 1 || ce.Events[0].ID != "old" {
			t.Errorf("charge dated 1970: got %v, want 422 refusing that event", err)
		}
		if b := e.balance(t, "studio"); b.Available != 100 {
			t.Errorf("balance after refused input: got %+v, want 100 available", b)
		}
	})
}

// TestFaultDatesOutOfRangeCLI (item 3) is the same through the real binary: the verbs
// refuse out-of-range dates with the range in the message and store nothing; the
// edges go in and come back out.
func TestFaultDatesOutOfRangeCLI(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			p := ledgertest.Start(t, tollgateBin, storetest.URL(t, kind), "")
			p.Studio(100, "carol")
			sub := func(from, until string) (string, error) {
				return cli(p, "subscription", "add", "carol", "--team", "studio", "--product", "revit", "--from", from, "--until", until)
			}
			for _, c := range [][2]string{{"2026-01-01", "9999-12-31"}, {"1969-06-01", "1970-01-01"}, {"1999-12-31", "2026-01-01"}} {
				if out, err := sub(c[0], c[1]); err == nil || !strings.Contains(out, rangeWords) {
					t.Errorf("subscription add --from %s --until %s: got %q %v, want refused naming %s", c[0], c[1], out, err, rangeWords)
				}
			}
			if out, err := sub("2000-01-01", "2200-01-01"); err != nil {
				t.Fatalf("subscription at the edges: %v\n%s", err, out)
			}
			var us []api.User
			must(t, json.Unmarshal([]byte(p.CLI("user", "list", "--team", "studio", "--json")), &us))
			if len(us) != 1 || len(us[0].Subscriptions) != 1 || !us[0].Subscriptions[0].From.Equal(charge.MinTime()) || !us[0].Subscriptions[0].Until.Equal(charge.MaxTime()) {
				t.Errorf("subscriptions read back: got %+v, want one from 2000-01-01 until 2200-01-01", us)
			}
		})
	}
}

// TestFaultChargeAtRate (item 4): a device charged 1,000 tokens for a product whose
// rate is 10 and the ledger took it. Now a charge must be the rate in force at its
// window's start: anything else is refused on its own (wrong_rate, with the reason),
// shown in the token report, and its hold freed.
func TestFaultChargeAtRate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 1000)
		a, err := dev.Authorize(ctx, "mary.studio", "revit", "h1")
		must(t, err)
		if a.HoldTokens != 10 {
			t.Fatalf("authorize: got %+v, want a hold of 10", a)
		}
		rs, err := dev.Ingest(ctx, []api.Event{
			charged("greedy", "studio", "mary.studio", "revit", bought, 1000, "h1"),
			charged("fair", "studio", "john.studio", "autocad", bought, 7, ""),
		})
		must(t, err)
		if rs[0].Status != api.Refused || rs[0].Code != api.CodeWrongRate || !strings.Contains(rs[0].Message, "costs 10 tokens") {
			t.Errorf("charge of 1000 for a rate of 10: got %+v, want refused wrong_rate saying it costs 10", rs[0])
		}
		if rs[1].Status != api.Accepted {
			t.Errorf("the fair charge beside it: got %+v, want accepted", rs[1])
		}
		if b := e.balance(t, "studio"); b.Available != 1000-7 || b.Held != 0 {
			t.Errorf("balance: got %+v, want 993 available and the refused charge's hold freed", b)
		}
		var rep api.TokenReport
		do(t, e.super, "GET", "/v1/admin/teams/studio/reports/tokens?from=2025-01-01&to=2026-01-01", nil, &rep)
		if len(rep.Refused) != 1 || rep.Refused[0].Event != "greedy" || rep.Refused[0].Tokens != 1000 {
			t.Errorf("token report's refused charges: got %+v, want the charge of 1000", rep.Refused)
		}

		// The rate changes a day later: each window costs the rate of its start.
		change := bought.Add(charge.Day)
		e.clock.Set(change)
		do(t, e.super, "PUT", "/v1/admin/products/revit", api.Product{Name: "Revit", Rate: 12}, nil)
		e.clock.Set(change.Add(2 * time.Hour))
		tests := []struct {
			id     string
			start  time.Time
			tokens int64
			want   string
		}{
			{"before-old", change.Add(-time.Hour), 10, api.Accepted},
			{"after-old", change.Add(time.Hour), 10, api.Refused},
			{"after-new", change.Add(time.Hour), 12, api.Accepted},
		}
		for i, tt := range tests {
			user := fmt.Sprintf("u%d.studio", i)
			do(t, e.super, "PUT", "/v1/admin/teams/studio/users/"+user, api.PutUser{}, nil)
			rs, err := dev.Ingest(ctx, []api.Event{charged(tt.id, "studio", user, "revit", tt.start, tt.tokens, "")})
			must(t, err)
			if rs[0].Status != tt.want {
				t.Errorf("%s: %d tokens for a window starting %v: got %+v, want %s", tt.id, tt.tokens, tt.start, rs[0], tt.want)
			}
		}
		if b := e.balance(t, "studio"); b.Available != 1000-7-10-12 {
			t.Errorf("balance after the rate change: got %+v, want %d", b, 1000-7-10-12)
		}
	})
}

// TestFaultHoldFlood (item 4): one device held a team's whole pool with authorizes
// under different hold names. Now a device holds once per session (user and product),
// and at most 16 sessions; past that it is refused too_many_holds, and the team's other
// devices still launch.
func TestFaultHoldFlood(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 1000)
		for i := range 30 {
			if _, err := dev.Authorize(ctx, "mary.studio", "revit", fmt.Sprint("h", i)); err != nil {
				t.Fatalf("authorize #%d: %v", i, err)
			}
		}
		if b := e.balance(t, "studio"); b.Held != 10 {
			t.Errorf("30 authorizes of one session: got %d held, want 10 (one hold)", b.Held)
		}
		// Fifteen more sessions (users) make sixteen: the most one device may hold.
		for i := range 16 {
			user := fmt.Sprintf("u%d.studio", i)
			do(t, e.super, "PUT", "/v1/admin/teams/studio/users/"+user, api.PutUser{}, nil)
			_, err := dev.Authorize(ctx, user, "revit", "s"+user)
			switch {
			case i < 15 && err != nil:
				t.Fatalf("session %d: %v", i+2, err)
			case i == 15:
				var ce *client.Error
				if !asErr(err, &ce) || ce.Code != api.CodeTooManyHolds || ce.Status != http.StatusConflict {
					t.Errorf("a 17th session on one device: got %v, want 409 too_many_holds", err)
				}
			}
		}
		if b := e.balance(t, "studio"); b.Held != 160 || b.Available != 840 {
			t.Errorf("after the flood: got %+v, want 160 held, 840 available", b)
		}
		other := e.device(t, "studio", "pc-2")
		a, err := other.Authorize(ctx, "john.studio", "revit", "j")
		if err != nil || !a.Decision.Allowed || a.HoldTokens != 10 {
			t.Errorf("another device's launch: got %+v %v, want allowed with a hold of 10", a, err)
		}
	})
}

// TestFaultTransferWhileHeld (item 6): a pack covering a hold was transferred away,
// leaving "available -15". A pack that holds must stay until its sessions end; one
// that is not needed for the holds moves.
func TestFaultTransferWhileHeld(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 100)
		e.studio(t, "other")
		var packs []api.Pack
		do(t, e.super, "GET", "/v1/admin/teams/studio/packs", nil, &packs)
		a, err := dev.Authorize(ctx, "john.studio", "revit", "h")
		must(t, err)
		move := "/v1/admin/teams/studio/packs/" + packs[0].ID + "/transfer"
		err = e.super.Do(ctx, "POST", move, api.Transfer{To: "other"}, nil)
		if got := status(t, err); got != http.StatusConflict || !strings.Contains(err.Error(), "held") {
			t.Errorf("transfer of the pack covering a hold: got %d %v, want 409 saying tokens are held", got, err)
		}
		if b := e.balance(t, "studio"); b.Available != 90 || b.Held != 10 {
			t.Errorf("after the refused transfer: got %+v, want 90 available, 10 held", b)
		}
		// A second pack covers the hold: the first may go.
		do(t, e.super, "POST", "/v1/admin/teams/studio/packs", api.BuyPack{Tokens: 100}, nil)
		do(t, e.super, "POST", move, api.Transfer{To: "other"}, nil)
		if b := e.balance(t, "studio"); b.Available != 90 || b.Held != 10 {
			t.Errorf("after moving the pack not needed: got %+v, want 90 available, 10 held", b)
		}
		must(t, dev.Release(ctx, a.Hold))
		if b := e.balance(t, "other"); b.Available != 100 {
			t.Errorf("the receiving team: got %+v, want 100 available", b)
		}
	})
}

// TestFaultNegativeBalanceShown (item 6): "your team has -15 left". An overdrawn team is
// shown to its admins as what it is short, never as a negative balance.
func TestFaultNegativeBalanceShown(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			p := ledgertest.Start(t, tollgateBin, storetest.URL(t, kind), "")
			enroll := p.Studio(0, "carol")
			dev := p.Device(t, enroll, "pc")
			// A renewal synced after the fact is taken though the pool is empty: a debt.
			start := time.Now().UTC().Add(-2 * time.Hour)
			ev := charged("r", "studio", "carol", "rhino", start, 5, "")
			ev.Renewal = true
			rs, err := dev.Ingest(context.Background(), []api.Event{ev})
			if err != nil || rs[0].Status != api.Accepted {
				t.Fatalf("renewal on an empty pool: got %+v %v, want accepted", rs, err)
			}
			show := p.CLI("team", "show", "studio")
			if !strings.Contains(show, "none available: 5 tokens short") || strings.Contains(show, "-5") {
				t.Errorf("team show: got\n%s\nwant 'none available: 5 tokens short' and no -5", show)
			}
			list := p.CLI("team", "list")
			if !strings.Contains(list, "0 (5 short)") || strings.Contains(list, "-5") {
				t.Errorf("team list: got\n%s\nwant '0 (5 short)' and no -5", list)
			}
		})
	}
}

// TestFaultTextNUL (item 14): PostgreSQL answered 500 to a NUL byte in a name or an
// event's reason while SQLite took it, and the agent retried such a batch for ever.
// Both stores now refuse the same text with a 4xx, and a bad event does not keep the
// rest of its batch from being applied.
func TestFaultTextNUL(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 100)
		var tok api.Token
		do(t, e.super, "POST", "/v1/admin/teams/studio/enroll-tokens", api.NewEnrollToken{}, &tok)
		var d api.Enrolled
		do(t, e.super, "POST", "/v1/enroll", api.Enroll{Token: tok.Token, Name: "pc-raw"}, &d)
		super := e.superToken(t)
		tests := []struct {
			name, method, path, body string
			admin                    bool
		}{
			{"team name NUL", "POST", "/v1/admin/teams", `{"id":"t1","name":"a\u0000b"}`, true},
			{"team name line break", "POST", "/v1/admin/teams", `{"id":"t2","name":"a\nb"}`, true},
			{"product name NUL", "PUT", "/v1/admin/products/maya", `{"rate":5,"name":"Maya\u0000"}`, true},
			{"product name DEL", "PUT", "/v1/admin/products/maya", `{"rate":5,"name":"Maya\u007f"}`, true},
			{"device name NUL", "POST", "/v1/enroll", `{"token":"` + tok.Token + `","name":"pc\u0000"}`, false},
			{"admin token name NUL", "POST", "/v1/admin/teams/studio/admin-tokens", `{"name":"x\u0000"}`, true},
			{"webhook NUL", "PUT", "/v1/admin/teams/studio/settings", `{"webhook":"http://127.0.0.1:9/\u0000"}`, true},
			{"hold NUL", "POST", "/v1/authorize", `{"user":"john.studio","product":"revit","hold":"h\u0000"}`, false},
			{"team name too long", "POST", "/v1/admin/teams", `{"id":"t3","name":"` + strings.Repeat("x", 256) + `"}`, true},
		}
		for _, tt := range tests {
			tokn := d.Credential
			if tt.admin {
				tokn = super
			}
			got, er := raw(t, e.url, tokn, tt.method, tt.path, tt.body)
			if got != http.StatusBadRequest {
				t.Errorf("%s: got %d %+v, want 400", tt.name, got, er)
			}
		}

		// A batch with a NUL in one event's reason: that event is refused, by itself.
		bad := api.Event{ID: "denied-nul", Effect: charge.Effect{Kind: charge.Denied, At: bought, User: "john.studio", Product: "revit", Reason: "insufficient\x00tokens"}}
		good := charged("good", "studio", "john.studio", "revit", bought, 10, "")
		_, err := dev.Ingest(ctx, []api.Event{good, bad})
		var ce *client.Error
		if !asErr(err, &ce) || ce.Status != http.StatusUnprocessableEntity || len(ce.Events) != 1 || ce.Events[0].ID != "denied-nul" || ce.Events[0].Code != api.CodeBadRequest {
			t.Fatalf("batch with a NUL reason: got %v, want 422 refusing only that event", err)
		}
		rs, err := dev.Ingest(ctx, []api.Event{good})
		if err != nil || rs[0].Status != api.Accepted {
			t.Errorf("the rest of the batch sent again: got %+v %v, want accepted", rs, err)
		}
		var teams []api.Team
		do(t, e.super, "GET", "/v1/admin/teams", nil, &teams)
		if len(teams) != 1 {
			t.Errorf("teams after refused names: got %d, want 1", len(teams))
		}
		if b := e.balance(t, "studio"); b.Available != 90 {
			t.Errorf("balance: got %+v, want 90 (the good charge only)", b)
		}
	})
}

// TestFaultUserOfOtherTeam (item 16): team A's admin assigning carol@b learned that she
// belongs to another team. The team admin's answer now names no team and says nothing
// of another; only the super-admin learns which team she is in.
func TestFaultUserOfOtherTeam(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.studio(t, "a", 100)
		e.studio(t, "b", 100)
		do(t, e.super, "PUT", "/v1/admin/teams/b/users/carol@b", api.PutUser{}, nil)
		var tokA api.Token
		do(t, e.super, "POST", "/v1/admin/teams/a/admin-tokens", api.NewAdminToken{}, &tokA)
		adminA := client.New(e.url, tokA.Token, nil)

		err := adminA.Do(ctx, "PUT", "/v1/admin/teams/a/users/carol@b", api.PutUser{}, nil)
		var ce *client.Error
		if !asErr(err, &ce) || ce.Status != http.StatusForbidden {
			t.Fatalf("team admin assigns another team's user: got %v, want 403", err)
		}
		for _, leak := range []string{`"b"`, "team b", "another team", "belongs"} {
			if strings.Contains(ce.Message, leak) {
				t.Errorf("team admin's answer %q gives away %q", ce.Message, leak)
			}
		}
		// Reading her through A is answered as for a user who does not exist at all.
		msg := func(user string) string {
			err := adminA.Do(ctx, "GET", "/v1/admin/teams/a/users/"+user, nil, nil)
			var ce *client.Error
			if !asErr(err, &ce) || ce.Status != http.StatusNotFound {
				t.Fatalf("GET %s through team a: got %v, want 404", user, err)
			}
			return strings.ReplaceAll(ce.Message, user, "USER")
		}
		if got, want := msg("carol@b"), msg("nobody@x"); got != want {
			t.Errorf("another team's user through A: got %q, want the answer for no such user, %q", got, want)
		}
		// The super-admin learns the truth.
		err = e.super.Do(ctx, "PUT", "/v1/admin/teams/a/users/carol@b", api.PutUser{}, nil)
		if !asErr(err, &ce) || ce.Status != http.StatusConflict || !strings.Contains(ce.Message, `team "b"`) {
			t.Errorf("super-admin assigns carol@b to a: got %v, want 409 naming team b", err)
		}
		var u api.User
		do(t, e.super, "GET", "/v1/admin/teams/b/users/carol@b", nil, &u)
		if u.Team != "b" {
			t.Errorf("carol@b after the attempts: got team %q, want b", u.Team)
		}
	})
}
