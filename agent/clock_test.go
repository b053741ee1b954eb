//go:build linux

package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/clock/clocktest"
	"tollgate/ledger/ledgertest"
)

// TestTimersFollowTheInjectedClock: the agent's sync retry and its tick wait on the
// clock it is given, not on the machine's. With a fake clock, a ledger that comes back
// gets the backlog only when the clock passes the retry's backoff, however long the test
// waits in real time; and a grace ends, and is charged, when the clock passes five
// minutes and a poll interval, which in real time would take an hour.
func TestTimersFollowTheInjectedClock(t *testing.T) {
	dir := t.TempDir()
	ledgerClock := agenttest.NewClock(t, dir)
	l := ledgertest.Start(t, bins.Tollgate, "", ledgerClock.Path)
	enroll := l.Studio(100, "root@studio.example")
	for _, d := range []string{"etc", "bin", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bins.Product)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"revit", "acad"} {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	agenttest.Write(t, filepath.Join(dir, "etc", "enroll.token"), enroll)
	cfg := filepath.Join(dir, "etc", "tollgate.yaml")
	agenttest.Write(t, cfg, fmt.Sprintf(`ledger:
  url: %s
  enrollment_token_file: %s/etc/enroll.token
identity:
  template: "{user}@studio.example"
products:
  - {id: revit, name: Autodesk Revit, match: {path: ["%s/bin/revit"]}}
  - {id: autocad, name: AutoCAD, match: {path: ["%s/bin/acad"]}}
policy:
  poll_interval: 1h
`, l.URL, dir, dir, dir))
	clock := clocktest.New(agenttest.Day1)
	sock := filepath.Join(dir, "tollgate.sock")
	// Retries at most a second apart: on the machine's timers the ledger would have the
	// backlog a second after it is back.
	a, err := agent.New(agent.Options{ConfigFile: cfg, StateDir: filepath.Join(dir, "state"), Socket: sock, Clock: clock, RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	c := localapi.NewClient(sock)
	status := func() localapi.Status {
		t.Helper()
		st, err := c.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitFor := func(what string, cond func(localapi.Status) bool) localapi.Status {
		t.Helper()
		var st localapi.Status
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var err error
			if st, err = c.Status(context.Background()); err == nil && cond(st) {
				return st
			}
		}
		t.Fatalf("timed out waiting for %s; last status %+v", what, st)
		return st
	}
	launch := func(name string) {
		t.Helper()
		p := exec.Command(filepath.Join(dir, "bin", name))
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	}
	inGrace := func(product string) func(localapi.Status) bool {
		return func(st localapi.Status) bool {
			s, ok := agenttest.SessionOf(st, product)
			return ok && s.State == "grace"
		}
	}
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
