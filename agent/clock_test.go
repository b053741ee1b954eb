//go:build linux

package agent_test

import (
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestTimersFollowTheInjectedClock: the agent's sync retry and its tick wait on the
// clock it is given, not on the machine's. With a fake clock, a ledger that comes back
// gets the backlog only when the clock passes the retry's backoff, however long the test
// waits in real time; and a grace ends, and is charged, when the clock passes five
// minutes and a poll interval, which in real time would take an hour.
func TestTimersFollowTheInjectedClock(t *testing.T) {
	// Retries at most a second apart: on the machine's timers the ledger would have the
	// backlog a second after it is back.
	r := startInProcess(t, agent.Options{RetryMax: time.Second})
	l, ledgerClock, clock, launch, waitFor, status := r.ledger, r.ledgerClock, r.clock, r.launch, r.waitFor, r.status
	synced := func(st localapi.Status) bool { return st.Backlog == 0 && st.Ledger != nil && st.Ledger.Online }

	launch("revit")
	waitFor("Revit in grace", inGrace("revit"))
	waitFor("Revit's hold at the ledger", synced)

	// The ledger goes away; a launch decided meanwhile waits in the journal.
	l.Kill()
	launch("acad")
	waitFor("AutoCAD in grace, its hold unsent", func(st localapi.Status) bool {
		return inGrace("autocad")(st) && st.Backlog > 0 && st.Ledger != nil && !st.Ledger.Online
	})
	l.Restart()
	// Three retry caps of real time: the machine's timers would have sent it by now.
	time.Sleep(3 * time.Second)
	if st := status(); st.Backlog == 0 {
		t.Fatalf("got the backlog sent while the fake clock stood still, want it waiting for the clock: the sync retry runs on the machine's timer")
	}
	clock.Advance(time.Second) // past any backoff under RetryMax
	waitFor("the backlog sent once the clock passed the retry", synced)
	if got := l.Charges("studio"); len(got) != 0 {
		t.Fatalf("got charges %q before any grace ended, want none", got)
	}

	// Five minutes of use end both graces; the tick that sees it comes a poll interval
	// (an hour) after the last, on the fake clock.
	if st := status(); !inGrace("revit")(st) || !inGrace("autocad")(st) {
		t.Fatalf("got sessions %+v before the clock moved, want both in grace", st.Sessions)
	}
	ledgerClock.Set(t, agenttest.Day1.Add(time.Hour))
	clock.Advance(time.Hour)
	waitFor("both windows paid and sent", func(st localapi.Status) bool {
		r, _ := agenttest.SessionOf(st, "revit")
		ac, _ := agenttest.SessionOf(st, "autocad")
		return r.State == "paid" && ac.State == "paid" && synced(st)
	})
	if got := l.Charges("studio"); len(got) != 2 {
		t.Errorf("got charges %q at the ledger, want Revit's and AutoCAD's", got)
	}
	if b := l.Tokens("studio").Balance; b.Available != 83 || b.Held != 0 {
		t.Errorf("got %d available and %d held at the ledger after Revit (10) and AutoCAD (7) were charged, want 83 and 0", b.Available, b.Held)
	}
}
