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

// inProcess is an agent run in the test's own process on a fake clock, enrolled with a
// real ledger process on a clock file: the rig for tests that drive the agent's clock.
type inProcess struct {
	t           *testing.T
	dir         string
	ledger      *ledgertest.Proc
	ledgerClock *agenttest.Clock
	clock       *clocktest.Clock
	client      *localapi.Client
}

// startInProcess starts the ledger and the agent. The agent ticks once an hour, so the
// meter reads the clock only when a process starts or exits, or the fake clock passes an
// hour; o gives the agent's other options (ConfigFile, StateDir, Socket and Clock are the rig's).
func startInProcess(t *testing.T, o agent.Options) *inProcess {
	dir := t.TempDir()
	r := &inProcess{t: t, dir: dir, ledgerClock: agenttest.NewClock(t, dir), clock: clocktest.New(agenttest.Day1)}
	r.ledger = ledgertest.Start(t, bins.Tollgate, "", r.ledgerClock.Path)
	enroll := r.ledger.Studio(100, "root@studio.example")
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
	o.ConfigFile = filepath.Join(dir, "etc", "tollgate.yaml")
	agenttest.Write(t, o.ConfigFile, fmt.Sprintf(`ledger:
  url: %s
  enrollment_token_file: %s/etc/enroll.token
identity:
  template: "{user}@studio.example"
products:
  - {id: revit, name: Autodesk Revit, match: {path: ["%s/bin/revit"]}}
  - {id: autocad, name: AutoCAD, match: {path: ["%s/bin/acad"]}}
policy:
  poll_interval: 1h
`, r.ledger.URL, dir, dir, dir))
	o.StateDir, o.Socket, o.Clock = filepath.Join(dir, "state"), filepath.Join(dir, "tollgate.sock"), r.clock
	a, err := agent.New(o)
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
	r.client = localapi.NewClient(o.Socket)
	return r
}

func (r *inProcess) status() localapi.Status {
	r.t.Helper()
	st, err := r.client.Status(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

func (r *inProcess) waitFor(what string, cond func(localapi.Status) bool) localapi.Status {
	r.t.Helper()
	var st localapi.Status
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if st, err = r.client.Status(context.Background()); err == nil && cond(st) {
			return st
		}
	}
	r.t.Fatalf("timed out waiting for %s; last status %+v", what, st)
	return st
}

// launch starts the stand-in product named name (revit or acad), killed at the test's end.
func (r *inProcess) launch(name string) {
	r.t.Helper()
	p := exec.Command(filepath.Join(r.dir, "bin", name))
	if err := p.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { p.Process.Kill(); p.Wait() })
}

// inGrace reports whether product's session is in its grace.
func inGrace(product string) func(localapi.Status) bool {
	return func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, product)
		return ok && s.State == "grace"
	}
}
