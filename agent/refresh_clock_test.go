//go:build linux

package agent_test

import (
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestRefreshFollowsTheInjectedClock: the agent asks the ledger again what its users may
// spend once a minute by its clock, not the machine's. With a fake clock, a pack the admin
// buys is seen when the clock passes the minute, however little real time passed, and not
// before, however much.
func TestRefreshFollowsTheInjectedClock(t *testing.T) {
	r := startInProcess(t, agent.Options{})
	// The balance as the agent knows it, more than n: the ledger's answer, holds and all,
	// once it has asked.
	above := func(n int64) func(localapi.Status) bool {
		return func(st localapi.Status) bool {
			return st.Available != nil && *st.Available > n && st.Ledger != nil && st.Ledger.Online
		}
	}
	r.launch("revit")
	r.waitFor("Revit in grace", inGrace("revit"))
	st := r.waitFor("the team's balance known", func(st localapi.Status) bool { return st.Available != nil && st.Backlog == 0 })
	time.Sleep(time.Second) // the sync loop's first look at the ledger is done and it waits
	before := *r.status().Available

	r.ledger.CLI("pack", "buy", "--team", "studio", "--tokens", "100")
	time.Sleep(2 * time.Second)
	if st = r.status(); *st.Available != before {
		t.Fatalf("got %d available while the fake clock stood still, want %d: the refresh runs on the machine's time", *st.Available, before)
	}
	r.ledgerClock.Set(t, agenttest.Day1.Add(time.Minute)) // one time for both
	r.clock.Advance(time.Minute)
	st = r.waitFor("the pack seen once the clock passed a minute", above(before))
	r.ledger.CLI("pack", "buy", "--team", "studio", "--tokens", "100")
	r.ledgerClock.Set(t, agenttest.Day1.Add(2*time.Minute))
	r.clock.Advance(time.Minute)
	r.waitFor("the next pack seen a minute later", above(*st.Available))
}
