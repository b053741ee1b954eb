//go:build linux

package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/agenttest"
)

// setClockMono moves a clock file to wall with an explicit monotonic reading: a wall
// clock that runs on while the monotonic one stands still is a machine asleep.
func setClockMono(t *testing.T, c *agenttest.Clock, wall time.Time, mono time.Duration) {
	t.Helper()
	c.Now = wall
	agenttest.Write(t, c.Path, fmt.Sprintf("%s %s", wall.Format(time.RFC3339Nano), mono))
}

// withPolicy adds lines to the policy section of a rig's config before it starts.
func withPolicy(t *testing.T, r *agenttest.Rig, lines string) {
	t.Helper()
	data, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, strings.Replace(string(data), "policy:\n", "policy:\n"+lines, 1))
}

// TestWakeAfterLongSleepAsksTheLedger: a laptop sleeps longer than offline_max_age with
// Revit open. At wake the ledger is reachable, so Revit is decided from what the ledger
// says now, not from the snapshot taken before the sleep: it stays open, in a new grace.
func TestWakeAfterLongSleepAsksTheLedger(t *testing.T) {
	day1 := agenttest.Day1
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // the clock file's monotonic origin
	s := newSystem(t, "sqlite", 100)
	r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock})
	withPolicy(t, r, "  offline_max_age: 1h\n")
	r.Start()
	p := r.Launch("bin/revit")
	r.Settled(func(st agent.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		return ok && ss.State == "grace"
	})
	asleep := day1.Add(2 * time.Minute)
	mono := asleep.Sub(epoch)
	setClockMono(t, s.clock, asleep, mono)
	r.Settled(nil)

	woke := day1.Add(3 * time.Hour) // asleep for longer than the offline allowance
	setClockMono(t, s.clock, woke, mono)
	st := r.Settled(func(st agent.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		_, denied := agenttest.MessageOf(st, "denied")
		return ok && ss.Running && ss.Start.Equal(woke) || denied
	})
	if m, denied := agenttest.MessageOf(st, "denied"); denied {
		t.Fatalf("got Revit denied at wake (%s: %s), want it decided by the reachable ledger and kept open", m.Title, m.Body)
	}
	if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "grace" {
		t.Errorf("got Revit %s at wake, want a new grace", ss.State)
	}
	time.Sleep(500 * time.Millisecond) // a close, were one under way, would be done by now
	if err := p.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("got Revit closed at wake (%v), want it running", err)
	}
	setClockMono(t, s.clock, woke.Add(5*time.Minute), mono+5*time.Minute)
	r.Settled(func(st agent.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		return ok && ss.State == "paid"
	})
}
