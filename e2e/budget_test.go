//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/api"
)

const ann = "ann@studio.example"

// TestBudgetBlocksOnlyThatUser: a day's cap on one user, reached through a real agent,
// blocks that user's next launch on another workstation, with the numbers (in money too,
// the team having a token price), while another user of the team still launches.
func TestBudgetBlocksOnlyThatUser(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 1000)
		s.ledger.CLI("user", "assign", ann, "--team", "studio")
		out := s.ledger.CLI("budget", "set", "--team", "studio", "--user", me, "--day", "10")
		if !strings.Contains(out, "at most 10 tokens a day") {
			t.Errorf("budget set: got %q", out)
		}
		if out := s.ledger.CLI("price", "set", "--team", "studio", "--currency", "EUR", "--token-price", "12.50", "--subscription", "revit=250"); !strings.Contains(out, "12.50 EUR") || !strings.Contains(out, "250.00 EUR a month") {
			t.Errorf("price set: got %q, want the token at 12.50 EUR and revit at 250.00 EUR a month", out)
		}
		// The second workstation has no pre-exec gate: after the extension its snapshot is
		// behind until its next refresh, and a gate refuses on a fresh snapshot.
		first, second := s.agent(), s.agent(func(o *agenttest.Options) { o.NoGate = true })
		first.Launch("bin/revit")
		first.WaitFor("revit in grace", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
		second.Launch("bin/revit")
		st := second.WaitFor("the launch denied", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "denied"); return ok })
		m, _ := agenttest.MessageOf(st, "denied")
		// The numbers, and whom to ask.
		for _, want := range []string{"You have used 10 of your 10 tokens today (125.00 of 125.00 EUR), and a day of Autodesk Revit costs 10 more",
			"Ask your administrator to raise the cap or grant an extension.", "Contact Studio IT, it@studio.example, ext. 200."} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("got %q, want %q in it", m.Body, want)
			}
		}
		// The user sees the cap in status, with the hold counted.
		if len(st.Budgets) != 1 || st.Budgets[0].String(st.Now) != "you have used 10 of your 10 tokens today (125.00 of 125.00 EUR)" {
			t.Errorf("status budgets: got %+v", st.Budgets)
		}
		// As `tollgate status` prints it.
		status, err := exec.Command(bins.Tollgate, "status", "--socket", second.Sock).CombinedOutput()
		if err != nil || !regexp.MustCompile(`(?m)^budget +you have used 10 of your 10 tokens today \(125\.00 of 125\.00 EUR\)$`).Match(status) {
			t.Errorf("tollgate status: got %v\n%s\nwant a line 'budget  you have used 10 of your 10 tokens today (125.00 of 125.00 EUR)'", err, status)
		}
		// Ann is not capped: she launches from a third device.
		a, err := s.ledger.Device(t, s.enroll, "ann-pc").Authorize(context.Background(), ann, "revit", "ann-1")
		if err != nil || a.Decision.Reason != charge.InGrace {
			t.Errorf("ann: got %+v %v, want grace", a.Decision, err)
		}
		if list := s.ledger.CLI("budget", "list", "--team", "studio"); !regexp.MustCompile(`user ` + regexp.QuoteMeta(me) + ` +day +10 +- +10 +125\.00 of 125\.00 EUR\n`).MatchString(list) {
			t.Errorf("budget list: got %q, want mary's cap of 10 with 10 used, 125.00 of 125.00 EUR", list)
		}
		// A one-off extension lets the second workstation in.
		until := s.clock.Now.Add(time.Hour).Format(time.RFC3339)
		if out := s.ledger.CLI("budget", "extend", "--team", "studio", "--user", me, "--tokens", "10", "--until", until); !strings.Contains(out, "20 tokens a day until") {
			t.Errorf("budget extend: got %q", out)
		}
		second.Launch("bin/revit")
		second.WaitFor("revit in grace after the extension", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
		if out := s.ledger.CLI("budget", "remove", "--team", "studio", "--user", me, "--period", "day"); !strings.Contains(out, "removed") {
			t.Errorf("budget remove: got %q", out)
		}
		if list := s.ledger.CLI("budget", "list", "--team", "studio", "--json"); strings.TrimSpace(list) != "[]" {
			t.Errorf("budget list after remove: got %q, want []", list)
		}
	})
}

// TestBudgetRace: 50 devices authorize one user's launch at once against a day's cap of
// one Revit day: exactly one is let through, with plenty of tokens in the pool.
func TestBudgetRace(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 1000)
		s.ledger.CLI("budget", "set", "--team", "studio", "--user", me, "--day", "10")
		var wg sync.WaitGroup
		reasons := make([]charge.Reason, 50)
		for i := range reasons {
			c := s.ledger.Device(t, s.enroll, fmt.Sprint("pc-", i))
			wg.Go(func() {
				a, err := c.Authorize(context.Background(), me, "revit", fmt.Sprint("h", i))
				if err != nil {
					t.Errorf("authorize %d: %v", i, err)
				}
				reasons[i] = a.Decision.Reason
			})
		}
		wg.Wait()
		n := map[charge.Reason]int{}
		for _, r := range reasons {
			n[r]++
		}
		if n[charge.InGrace] != 1 || n[charge.BudgetExceeded] != 49 {
			t.Errorf("got %v, want 1 grace and 49 budget_exceeded", n)
		}
		if b := s.ledger.Tokens("studio").Balance; b.Held != 10 {
			t.Errorf("got balance %+v, want the one launch's 10 held", b)
		}
	})
}

// TestBudgetRaceThroughAgents: 20 agents launch Revit at once for one user whose cap is
// one day: one runs, nineteen are told why.
func TestBudgetRaceThroughAgents(t *testing.T) {
	s := newSystem(t, "sqlite", 1000)
	s.ledger.CLI("budget", "set", "--team", "studio", "--user", me, "--month", "10")
	var rigs []*agenttest.Rig
	for range 20 {
		rigs = append(rigs, s.agent(func(o *agenttest.Options) { o.NoGate = true }))
	}
	var wg sync.WaitGroup
	for _, r := range rigs {
		wg.Go(func() { r.Launch("bin/revit") })
	}
	wg.Wait()
	running, blocked := 0, 0
	for _, r := range rigs {
		st := r.WaitFor("the launch decided", func(st localapi.Status) bool {
			_, denied := agenttest.MessageOf(st, "denied")
			_, open := agenttest.SessionOf(st, "revit")
			return denied || open
		})
		if m, ok := agenttest.MessageOf(st, "denied"); ok {
			blocked++
			if !strings.Contains(m.Body, "of your 10 tokens this month") {
				t.Errorf("got %q, want the cap with its numbers", m.Body)
			}
		} else {
			running++
		}
	}
	if running != 1 || blocked != 19 {
		t.Errorf("got %d running and %d blocked, want 1 and 19", running, blocked)
	}
}

// TestBudgetNoticesReachWebhook: a team's day cap of 25 crosses 80 % and then 100 %;
// each notice is POSTed to the team's webhook once, and launches after do not repeat it.
func TestBudgetNoticesReachWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []api.BudgetNotice
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var post api.Notification
		var n api.BudgetNotice
		if json.Unmarshal(body, &post) == nil && post.Kind == "budget" && json.Unmarshal(post.Payload, &n) == nil {
			mu.Lock()
			got = append(got, n)
			mu.Unlock()
		}
	}))
	defer hook.Close()

	s := newSystem(t, "sqlite", 1000)
	s.ledger.CLI("settings", "--team", "studio", "--webhook", hook.URL)
	s.ledger.CLI("budget", "set", "--team", "studio", "--day", "25")
	s.ledger.CLI("user", "assign", ann, "--team", "studio")
	ctx := context.Background()
	launch := func(dev, user, product string) charge.Reason {
		t.Helper()
		a, err := s.ledger.Device(t, s.enroll, dev).Authorize(ctx, user, product, dev)
		if err != nil {
			t.Fatal(err)
		}
		return a.Decision.Reason
	}
	for _, tt := range []struct {
		dev, user, product string
		want               charge.Reason
	}{
		{"a", me, "revit", charge.InGrace},           // 10 of 25
		{"b", ann, "revit", charge.InGrace},          // 20 of 25: 80 %
		{"c", ann, "rhino", charge.InGrace},          // 25 of 25: 100 %
		{"d", me, "rhino", charge.BudgetExceeded},    // refused: no notice again
		{"e", ann, "autocad", charge.BudgetExceeded}, // refused
	} {
		if r := launch(tt.dev, tt.user, tt.product); r != tt.want {
			t.Errorf("%s launching %s: got %s, want %s", tt.user, tt.product, r, tt.want)
		}
	}
	deadline := time.Now().Add(40 * time.Second) // the ledger delivers every 10 s
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What the ledger will ever send: its outbox holds exactly the two notices.
	var ns []api.Notification
	if err := s.ledger.Admin.Do(ctx, http.MethodGet, "/v1/admin/teams/studio/notifications", nil, &ns); err != nil {
		t.Fatal(err)
	}
	budget := 0
	for _, n := range ns {
		if n.Kind == "budget" {
			budget++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Level != 80 || got[1].Level != 100 || got[1].Limit != 25 || budget != 2 {
		t.Errorf("got webhook posts %+v and %d budget notices in the outbox, want 80 then 100 once each", got, budget)
	}
}
