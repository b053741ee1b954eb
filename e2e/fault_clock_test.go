//go:build linux

package e2e

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

// TestClockSetBackOnlineIsReported: a workstation online with the ledger has its wall
// clock set back two hours while Revit is in grace. The agent reports it once (status,
// log) and gains nobody anything: the grace runs out on the use, and the ledger takes one
// charge keyed at the launch.
func TestClockSetBackOnlineIsReported(t *testing.T) {
	day1 := agenttest.Day1
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSystem(t, "sqlite", 100)
	// The workstation has a clock of its own, so that setting it back leaves the ledger's.
	own := agenttest.NewClock(t, t.TempDir())
	r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: own})
	r.Start()
	r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		return ok && ss.State == "grace"
	})
	r.WaitFor("the ledger online", func(st localapi.Status) bool { return st.Ledger != nil && st.Ledger.Online })

	at := day1.Add(2 * time.Minute)
	s.clock.Set(t, at)
	setClockMono(t, own, at, at.Sub(epoch))
	r.Settled(nil)
	setClockMono(t, own, at.Add(-2*time.Hour), at.Sub(epoch)+time.Second) // set back; a second passed
	st := r.WaitFor("the set-back reported", func(st localapi.Status) bool { return st.Rollbacks > 0 })
	if st.Rollbacks != 1 {
		t.Errorf("got %d clock rollbacks in status, want 1", st.Rollbacks)
	}
	if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "grace" || !ss.Start.Equal(day1) {
		t.Errorf("got session %+v after the set-back, want the grace begun at %s", ss, day1.Format(time.RFC3339))
	}
	// Three more minutes of use, on the clock as it now reads.
	s.clock.Set(t, at.Add(3*time.Minute))
	setClockMono(t, own, at.Add(-2*time.Hour+3*time.Minute), at.Sub(epoch)+3*time.Minute)
	r.WaitFor("the grace charged", func(st localapi.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		return ok && ss.State == "paid"
	})
	r.WaitFor("the charge synced", func(st localapi.Status) bool { return st.Backlog == 0 })
	want := []string{charge.Key{Team: "studio", User: me, Product: "revit", Start: day1}.String() + " 10"}
	if got := s.ledger.Charges("studio"); !slices.Equal(got, want) {
		t.Errorf("got ledger charges %v, want %v", got, want)
	}
	if st := r.WaitFor("status", func(localapi.Status) bool { return true }); st.Rollbacks != 1 {
		t.Errorf("got %d clock rollbacks in status at the end, want 1", st.Rollbacks)
	}
	if !strings.Contains(r.LogTail(), "wall clock moved backwards") {
		t.Errorf("got no warning of the clock set back in the agent's log")
	}
}

// TestSimulateShowsClockSetBack: the bundled example advertises a clock set back (Tom's
// workstation, online); `tollgate simulate` shows it.
func TestSimulateShowsClockSetBack(t *testing.T) {
	out, err := exec.Command(bins.Tollgate, "simulate", filepath.Join("..", "examples", "studio-month.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("tollgate simulate: %v\n%s", err, out)
	}
	if want := "ws-tom's clock went back from Wed 2026-11-18 10:00 to Wed 2026-11-18 08:00"; !strings.Contains(string(out), want) {
		t.Errorf("got no line %q in:\n%s", want, out)
	}
}
