//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestRestrictionInGraceStopsTheCharge: the admin's word during a grace applies before
// the charge. A user restricted from Revit, or unassigned, a minute into its grace has it
// closed and told why, its hold released and nothing charged; a user subscribed a minute
// in goes on under the subscription, uncharged (rule 1).
func TestRestrictionInGraceStopsTheCharge(t *testing.T) {
	tests := []struct {
		name   string
		admin  []string
		closed bool // the product is closed; else it goes on under a subscription
		why    string
	}{
		{"restricted", []string{"user", "assign", me, "--team", "studio", "--products", "autocad,rhino"}, true, "has not allowed Autodesk Revit"},
		{"unassigned", []string{"user", "assign", me, "--team", "studio", "--unassigned"}, true, "not assigned to your team's tokens"},
		{"subscribed", []string{"subscription", "add", me, "--team", "studio", "--product", "revit", "--from", day1.Add(time.Minute).Format(time.RFC3339)}, false, ""},
	}
	eachStore(t, func(t *testing.T, kind string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newSystem(t, kind, 1000)
				r := s.agent(func(o *agenttest.Options) { o.NoGate = true })
				p := r.Launch("bin/revit")
				r.Settled(inGrace("revit"))
				r.WaitFor("the hold synced", func(st localapi.Status) bool { return st.Backlog == 0 })
				r.SetClock(day1.Add(time.Minute))
				r.Settled(nil)
				s.ledger.CLI(tt.admin...)
				r.SetClock(day1.Add(6 * time.Minute))
				if tt.closed {
					st := r.WaitFor("Revit closed", func(st localapi.Status) bool {
						ss, _ := agenttest.SessionOf(st, "revit")
						_, told := agenttest.MessageOf(st, "closed")
						return ss.Procs == 0 && told
					})
					p.Wait()
					r.SetClock(day1.Add(6*time.Minute + 11*time.Second)) // past the merge gap: the session ends
					r.Settled(func(st localapi.Status) bool { _, open := agenttest.SessionOf(st, "revit"); return !open })
					m, _ := agenttest.MessageOf(st, "closed")
					if !strings.Contains(m.Body, tt.why) || !strings.Contains(m.Body, "nothing was charged") {
						t.Errorf("got message %q, want why (%q) and that nothing was charged", m.Body, tt.why)
					}
				} else {
					r.Settled(func(st localapi.Status) bool {
						ss, ok := agenttest.SessionOf(st, "revit")
						return ok && ss.State == "subscription"
					})
				}
				r.WaitFor("the backlog drained", func(st localapi.Status) bool { return st.Backlog == 0 })
				if got := s.ledger.Charges("studio"); len(got) != 0 {
					t.Errorf("got ledger charges %v, want none", got)
				}
				if b := s.ledger.Tokens("studio").Balance; b.Available != 1000 || b.Held != 0 {
					t.Errorf("got balance %+v, want 1000 available and nothing held", b)
				}
			})
		}
	})
}
