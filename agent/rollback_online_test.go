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

// TestClockSetBackOnlineIsFlagged: online, the agent learns the ledger's time and corrects
// its own clock by it, so a clock set back is absorbed the moment the agent next hears
// from the ledger. When that happens before the meter next reads the clock (here: the
// set-back found by a launch's question to the ledger, with no tick in between), the
// set-back must still be reported, once.
func TestClockSetBackOnlineIsFlagged(t *testing.T) {
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
	// No tick for an hour: the meter reads the clock only when a process starts or exits.
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
	a, err := agent.New(agent.Options{ConfigFile: cfg, StateDir: filepath.Join(dir, "state"), Socket: sock, Clock: clock})
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
	launch("revit")
	st := waitFor("Revit in grace", func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "grace"
	})
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
