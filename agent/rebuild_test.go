//go:build linux

package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/ledger/ledgertest"
)

// The tests below push a drop-in that changes one field of the configuration and show
// the new behaviour without restarting the agent.

// pushDropin writes a drop-in the way IT's tools do: whole, then renamed into conf.d.
func pushDropin(t *testing.T, r *agenttest.Rig, name, content string) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(r.Config), "conf.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, filepath.Join(dir, name), content)
}

// writeSnapshot writes the rig's entitlement file with extra rates and users.
func writeSnapshot(t *testing.T, r *agenttest.Rig, available int64, rates string, users ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "as_of: %s\nrates: {revit: 10, autocad: 7, rhino: 5%s}\navailable: {studio: %d}\nusers:\n",
		agenttest.Day1.Format(time.RFC3339), rates, available)
	for _, u := range append([]string{"root@studio.example"}, users...) {
		fmt.Fprintf(&b, "  - {user: %s, team: studio, assigned: true}\n", u)
	}
	agenttest.Write(t, r.Snap, b.String())
}

func copyProduct(t *testing.T, to string) {
	t.Helper()
	data, err := os.ReadFile(bins.Product)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// A product added by a drop-in and matched by executable name alone is metered at once:
// one already running when the push lands, and one started after.
func TestPushNewProductByExeName(t *testing.T) {
	r := newRig(t, 100)
	// A name of its own, so that other agents on this machine never take it for theirs
	// nor this one theirs.
	exe := fmt.Sprintf("maya%d", os.Getpid()%100000)
	copyProduct(t, filepath.Join(r.Dir, "bin", exe))
	writeSnapshot(t, r, 100, ", maya: 3")
	r.Start()
	before := r.Launch("bin/" + exe)
	st := r.Settled(func(st localapi.Status) bool { return true })
	if s, ok := agenttest.SessionOf(st, "maya"); ok {
		t.Fatalf("got session %+v before the push, want none: maya is not in the catalogue yet", s)
	}

	pushDropin(t, r, "50-maya.yaml", fmt.Sprintf("products:\n  - id: maya\n    name: Autodesk Maya\n    match:\n      exe: [%q]\n", exe))
	r.WaitFor("the maya already running metered", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "maya"); return ok && s.Procs == 1 })
	after := r.Launch("bin/" + exe)
	st = r.WaitFor("a maya started after the push metered", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "maya"); return ok && s.Procs == 2 })
	if st.Config.Err != "" || len(st.Config.Restart) > 0 {
		t.Errorf("got config error %q, waiting for restart %v; want neither", st.Config.Err, st.Config.Restart)
	}
	r.Quit(before)
	r.Quit(after)
	r.WaitFor("both maya gone", func(st localapi.Status) bool { s, _ := agenttest.SessionOf(st, "maya"); return s.Procs == 0 })
}

// A product added by a drop-in and matched by path is gated before exec: its denied
// launch never runs an instruction.
func TestPushNewPathGated(t *testing.T) {
	r := newRig(t, 0)
	nuke := filepath.Join(r.Dir, "foundry", "nuke")
	copyProduct(t, nuke)
	writeSnapshot(t, r, 0, ", nuke: 4")
	r.Start()
	st := r.WaitFor("the gate", func(st localapi.Status) bool { return st.Gate != "" })
	if !strings.HasPrefix(st.Gate, "on") {
		t.Fatalf("got gate %q, want on: this test machine runs as root with fanotify", st.Gate)
	}
	before := filepath.Join(r.Dir, "nuke-ran-before")
	c, err := r.TryLaunch("foundry/nuke", "TOLLGATE_MARKER="+before)
	if err != nil {
		t.Fatalf("got %v starting nuke before the push, want it to start: it is no product yet", err)
	}
	r.Quit(c)

	pushDropin(t, r, "50-nuke.yaml", fmt.Sprintf("products:\n  - id: nuke\n    name: Nuke\n    match:\n      path: [%q]\n", filepath.ToSlash(r.Dir)+"/foundry/*"))
	r.WaitFor("the push in force", func(st localapi.Status) bool { return len(st.Config.Files) == 2 && st.Config.Err == "" })
	marker := filepath.Join(r.Dir, "nuke-ran")
	if _, err := r.TryLaunch("foundry/nuke", "TOLLGATE_MARKER="+marker); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("got %v starting nuke after the push, want the exec refused with EPERM", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("got marker %v, want none: the product's first instruction must not run", err)
	}
	st = r.WaitFor("the denial message", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "denied"); return ok })
	if m, _ := agenttest.MessageOf(st, "denied"); !strings.Contains(m.Body, "Nuke") {
		t.Errorf("got denial %q, want it to name Nuke", m.Body)
	}
	if !strings.HasPrefix(st.Gate, "on") || strings.Contains(st.Gate, "Nuke") {
		t.Errorf("got gate %q, want on, with Nuke gated", st.Gate)
	}
}

// A new poll interval moves the clock's ticks: with a tick an hour away a grace that has
// ended is not charged; pushed down to 50ms, it is at once.
func TestPushPollInterval(t *testing.T) {
	r := newRig(t, 100)
	pushDropin(t, r, "10-slow.yaml", "policy:\n  poll_interval: 1h\n")
	r.Start()
	r.Launch("bin/revit")
	r.WaitFor("revit in grace", func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "grace"
	})
	// The clock moves past the grace, unseen by the rig's waits, which expect a tick.
	at := agenttest.Day1.Add(6 * time.Minute)
	agenttest.Write(t, r.Clock.Path, at.Format(time.RFC3339Nano))
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	st, err := r.Client.Status(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := agenttest.SessionOf(st, "revit"); s.State != "grace" {
		t.Fatalf("got state %q with no tick for an hour, want grace still (the test shows nothing otherwise)", s.State)
	}
	r.SetClock(at)
	pushDropin(t, r, "10-slow.yaml", "policy:\n  poll_interval: 50ms\n")
	r.WaitFor("the grace charged by a tick", func(st localapi.Status) bool { s, _ := agenttest.SessionOf(st, "revit"); return s.State == "paid" })
}

// A new identity template maps the next launch's account to the new licensing user.
func TestPushIdentityTemplate(t *testing.T) {
	r := newRig(t, 100)
	writeSnapshot(t, r, 100, "", "root@paris.example")
	r.Start()
	pushDropin(t, r, "50-paris.yaml", "identity:\n  template: \"{user}@paris.example\"\n")
	r.WaitFor("the push in force", func(st localapi.Status) bool { return len(st.Config.Files) == 2 && st.Config.Err == "" })
	r.Launch("bin/revit")
	st := r.WaitFor("a session", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	if s, _ := agenttest.SessionOf(st, "revit"); s.User != "root@paris.example" {
		t.Errorf("got user %q, want root@paris.example", s.User)
	}
}

// A new ledger URL is enrolled with before it is taken; one that cannot be is refused and
// the old link stays. The backlog goes to the new ledger.
func TestPushLedgerURL(t *testing.T) {
	dir := t.TempDir()
	clock := agenttest.NewClock(t, dir)
	l1 := ledgertest.Start(t, bins.Tollgate, "", clock.Path)
	l2 := ledgertest.Start(t, bins.Tollgate, "", clock.Path)
	tok1 := l1.Studio(100, "root@studio.example")
	tok2 := l2.Studio(100, "root@studio.example")
	r := newRig(t, 0, func(o *agenttest.Options) { o.LedgerURL, o.EnrollToken, o.Clock = l1.URL, tok1, clock })
	r.Start()
	r.WaitFor("enrolled with the first ledger", func(st localapi.Status) bool { return st.Ledger != nil && st.Ledger.Enrolled && st.Ledger.Online })
	r.Launch("bin/revit")
	r.WaitFor("revit in grace", func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "grace"
	})
	l1.Kill()
	r.SetClock(agenttest.Day1.Add(6 * time.Minute))
	r.WaitFor("a charge waiting for the dead ledger", func(st localapi.Status) bool { return st.Backlog > 0 && !st.Ledger.Online })

	tok2File := filepath.Join(r.Dir, "etc", "enroll2.token")
	agenttest.Write(t, tok2File, tok2)
	// A ledger nobody answers at: refused, the old link stays.
	pushDropin(t, r, "50-ledger.yaml", fmt.Sprintf("ledger:\n  url: http://127.0.0.1:1\n  enrollment_token_file: %s\n", tok2File))
	st := r.WaitFor("the refusal", func(st localapi.Status) bool { return strings.Contains(st.Config.Err, "127.0.0.1:1") })
	if st.Ledger.URL != l1.URL {
		t.Errorf("got ledger %q after a refused push, want the old one %q", st.Ledger.URL, l1.URL)
	}
	if st.Backlog == 0 {
		t.Errorf("got an empty backlog after a refused push, want the charge still waiting")
	}

	pushDropin(t, r, "50-ledger.yaml", fmt.Sprintf("ledger:\n  url: %s\n  enrollment_token_file: %s\n", l2.URL, tok2File))
	st = r.WaitFor("the backlog sent to the new ledger", func(st localapi.Status) bool {
		return st.Config.Err == "" && st.Ledger.URL == l2.URL && st.Backlog == 0
	})
	if got := l2.Charges("studio"); len(got) != 1 || !strings.HasSuffix(got[0], " 10") {
		t.Errorf("got charges %v on the new ledger, want revit's one window of 10", got)
	}
	if len(st.Config.Restart) > 0 {
		t.Errorf("got %v waiting for a restart, want nothing", st.Config.Restart)
	}
}

// Fields that cannot change while the agent runs are reported as waiting for a restart.
func TestPushNeedsRestart(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	pushDropin(t, r, "50-log.yaml", fmt.Sprintf("log:\n  file: %s\n  max_size_mb: 7\n  max_backups: 2\n", filepath.Join(r.Dir, "other.log")))
	st := r.WaitFor("the restart list", func(st localapi.Status) bool { return len(st.Config.Restart) > 0 })
	if want := []string{"log.file", "log.max_size_mb", "log.max_backups"}; !slices.Equal(st.Config.Restart, want) {
		t.Errorf("got %v waiting for a restart, want %v", st.Config.Restart, want)
	}
}

// Pushes racing with launches: every launch is decided by exactly one configuration. The
// two configurations map the same program to a different product and the same account to
// a different user; a session mixing them would be a launch decided by half of each.
func TestPushRacesLaunches(t *testing.T) {
	r := newRig(t, 1000)
	writeSnapshot(t, r, 1000, "", "root@paris.example")
	r.Start()
	configB := fmt.Sprintf(`identity:
  template: "{user}@paris.example"
products:
  - {id: revit, name: Autodesk Revit, match: {path: ["%[1]s/nowhere"]}}
  - {id: autocad, name: AutoCAD, match: {path: ["%[1]s/bin/revit"]}}
`, filepath.ToSlash(r.Dir))
	configA := "admin_contact: \"Studio IT, it@studio.example, ext. 200\"\n"
	var procs []*exec.Cmd
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 8 {
			c := configA
			if i%2 == 0 {
				c = configB
			}
			pushDropin(t, r, "50-race.yaml", c)
			time.Sleep(400 * time.Millisecond)
		}
	}()
	for range 30 {
		procs = append(procs, r.Launch("bin/revit"))
		time.Sleep(100 * time.Millisecond)
	}
	<-done
	st := r.WaitFor("every launch metered", func(st localapi.Status) bool {
		n := 0
		for _, s := range st.Sessions {
			n += s.Procs
		}
		return n == len(procs)
	})
	allowed := map[string]bool{"revit root@studio.example": true, "autocad root@paris.example": true}
	for _, s := range st.Sessions {
		if !allowed[s.Product+" "+s.User] {
			t.Errorf("got a session of %s for %s, want revit for root@studio.example or autocad for root@paris.example", s.Product, s.User)
		}
	}
	for _, p := range procs {
		r.Quit(p)
	}
}
