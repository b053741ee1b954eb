//go:build linux

package agent_test

import (
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestClockSetBackOnlineIsFlagged: online, the agent learns the ledger's time and corrects
// its own clock by it, so a clock set back is absorbed the moment the agent next hears
// from the ledger. When that happens before the meter next reads the clock (here: the
// set-back found by a launch's question to the ledger, with no tick in between), the
// set-back must still be reported, once.
func TestClockSetBackOnlineIsFlagged(t *testing.T) {
	r := startInProcess(t, agent.Options{})
	ledgerClock, clock, launch, waitFor := r.ledgerClock, r.clock, r.launch, r.waitFor
	launch("revit")
	st := waitFor("Revit in grace", inGrace("revit"))
	if st.Rollbacks != 0 {
		t.Fatalf("got %d clock rollbacks before any, want 0", st.Rollbacks)
	}
	ledgerClock.Set(t, agenttest.Day1.Add(time.Minute))
	clock.Advance(time.Minute)
	clock.Set(agenttest.Day1.Add(-2*time.Hour + time.Minute)) // a minute later, set back two hours
	launch("acad")
	st = waitFor("AutoCAD decided", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "autocad"); return ok })
	if st.Rollbacks != 1 {
		t.Errorf("got %d clock rollbacks after the clock was set back online, want 1", st.Rollbacks)
	}
	if want := agenttest.Day1.Add(time.Minute); !st.Now.Equal(want) {
		t.Errorf("got agent time %s, want %s: the ledger's time, a minute on", st.Now.Format(time.RFC3339), want.Format(time.RFC3339))
	}
}
