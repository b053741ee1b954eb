//go:build linux

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

var day1 = agenttest.Day1

func key(product string, start time.Time, tokens int64) string {
	return charge.Key{Team: "studio", User: me, Product: product, Start: start}.String() + " " + fmtInt(tokens)
}

// step is one thing that happens in a scripted case.
type step struct {
	at    time.Duration // after day1
	start string        // bin/revit, bin/acad: a product process starts, named by as
	as    string
	quit  string // the process named so closes
}

// play runs steps on one agent, waiting after each for the agent to have seen it, then
// (with drain) for every journaled effect to have the ledger's answer.
func play(t *testing.T, r *agenttest.Rig, steps []step, drain ...bool) {
	t.Helper()
	procs, running, productOf := r.Procs()
	product := map[string]string{"bin/revit": "revit", "bin/acad": "autocad"}
	for _, s := range steps {
		r.SetClock(day1.Add(s.at))
		switch {
		case s.start != "":
			procs[s.as] = r.Launch(s.start)
			productOf[s.as] = product[s.start]
			running[product[s.start]]++
		case s.quit != "":
			r.Quit(procs[s.quit])
			running[productOf[s.quit]]--
		}
		r.Settled(func(st localapi.Status) bool {
			for _, p := range []string{"revit", "autocad"} {
				if ss, _ := agenttest.SessionOf(st, p); ss.Procs != running[p] {
					return false
				}
			}
			return true
		})
	}
	if len(drain) == 0 || drain[0] {
		r.WaitFor("the ledger's answers", func(st localapi.Status) bool { return st.Backlog == 0 })
	}
}

// TestWorkedCases plays each worked case of charging.md through a real ledger and agent.
func TestWorkedCases(t *testing.T) {
	h, m := time.Hour, time.Minute
	tests := []struct {
		name   string
		setup  func(s *system)
		steps  []step
		want   []string
		tokens int64 // left in the pool at the end
	}{
		{
			name: "Mary's AutoCAD subscription costs nothing, Revit costs its rate",
			setup: func(s *system) {
				s.ledger.CLI("subscription", "add", me, "--team", "studio", "--product", "autocad", "--from", "2026-01-01", "--until", "2027-01-01")
			},
			steps: []step{{at: 0, start: "bin/acad", as: "a"}, {at: 0, start: "bin/revit", as: "r"}, {at: 6 * m}, {at: h, quit: "a"}, {at: h, quit: "r"}, {at: h + m}},
			want:  []string{key("revit", day1, 10)}, tokens: 90,
		},
		{
			name:  "Revit opened by mistake, closed after 3 minutes: 0 tokens",
			steps: []step{{at: 0, start: "bin/revit", as: "r"}, {at: 3 * m, quit: "r"}, {at: 4 * m}},
			want:  nil, tokens: 100,
		},
		{
			name: "Monday 08:00-09:00, reopened Tuesday 07:00 and closed before 08:00: one charge",
			steps: []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * m}, {at: h, quit: "r"}, {at: h + m},
				{at: 23 * h, start: "bin/revit", as: "r2"}, {at: 23*h + 59*m, quit: "r2"}, {at: 24 * h}},
			want: []string{key("revit", day1, 10)}, tokens: 90,
		},
		{
			name: "still open at Tuesday 08:00: a second charge then",
			steps: []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * m}, {at: h, quit: "r"}, {at: h + m},
				{at: 23 * h, start: "bin/revit", as: "r2"}, {at: 24 * h}, {at: 25 * h, quit: "r2"}, {at: 25*h + m}},
			want: []string{key("revit", day1, 10), key("revit", day1.Add(24*h), 10)}, tokens: 80,
		},
		{
			name:  "Monday 19:00 to Tuesday 17:00: one charge",
			steps: []step{{at: 11 * h, start: "bin/revit", as: "r"}, {at: 11*h + 6*m}, {at: 33 * h, quit: "r"}, {at: 33*h + m}},
			want:  []string{key("revit", day1.Add(11*h), 10)}, tokens: 90,
		},
		{
			name: "Revit and AutoCAD both used on Monday: 17 tokens",
			steps: []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * m}, {at: h, quit: "r"}, {at: 2 * h, start: "bin/acad", as: "a"},
				{at: 2*h + 6*m}, {at: 3 * h, quit: "a"}, {at: 3*h + m}},
			want: []string{key("revit", day1, 10), key("autocad", day1.Add(2*h), 7)}, tokens: 83,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, kind string) {
				s := newSystem(t, kind, 100)
				if tt.setup != nil {
					tt.setup(s)
				}
				r := s.agent()
				play(t, r, tt.steps)
				got := s.ledger.Charges("studio")
				slices.Sort(got)
				slices.Sort(tt.want)
				if !slices.Equal(got, tt.want) {
					t.Errorf("got ledger charges %v, want %v", got, tt.want)
				}
				if b := s.ledger.Tokens("studio").Balance; b.Available != tt.tokens || b.Held != 0 {
					t.Errorf("got balance %+v, want %d available and nothing held", b, tt.tokens)
				}
			})
		})
	}
}

// TestBlockedUntilTokensAreBought: 5 tokens and Revit at 10: the launch is blocked and the
// user told why; once the admin buys a 100-token pack, the same launch is allowed.
func TestBlockedUntilTokensAreBought(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 100)
		r := s.agent(func(o *agenttest.Options) { o.NoGate = true })
		play(t, r, []step{{at: 0, start: "bin/acad", as: "a"}, {at: 6 * time.Minute}, {at: 2 * time.Hour, quit: "a"}, {at: 2*time.Hour + time.Minute}})
		// 93 left: spend 88 more so that 5 remain.
		s.spend(t, 88)
		p := r.Launch("bin/revit")
		done := make(chan error, 1)
		go func() { done <- p.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the denied Revit still runs after 20s")
		}
		st := r.WaitFor("the denial", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "denied"); return ok })
		if m, _ := agenttest.MessageOf(st, "denied"); !strings.Contains(m.Body, "A day of Autodesk Revit costs 10 tokens and your team has 5 left") {
			t.Errorf("got %q, want the reason with the ledger's numbers", m.Body)
		}
		s.ledger.CLI("pack", "buy", "--team", "studio", "--tokens", "100")
		r.Launch("bin/revit")
		r.WaitFor("Revit allowed", func(st localapi.Status) bool {
			ss, ok := agenttest.SessionOf(st, "revit")
			return ok && ss.State == "grace"
		})
	})
}
