//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/ledgertest"
	"tollgate/ledger/store/storetest"
)

// dbFor is the database a ledger of this kind runs on: "" is SQLite in its data folder.
func dbFor(t *testing.T, kind string) string {
	if kind == "postgres" {
		return storetest.URL(t, "postgres")
	}
	return ""
}

// checkCLI runs `tollgate check PRODUCT --json` as root, as a user at the workstation.
func checkCLI(t *testing.T, r *agenttest.Rig, product string) localapi.CheckResult {
	t.Helper()
	out, err := exec.Command(bins.Tollgate, "check", product, "--json", "--socket", r.Sock).Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 3) {
		t.Fatalf("tollgate check %s: %v\n%s", product, err, out)
	}
	var res localapi.CheckResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("tollgate check %s: %v\n%s", product, err, out)
	}
	return res
}

func inGrace(product string) func(localapi.Status) bool {
	return func(st localapi.Status) bool {
		ss, ok := agenttest.SessionOf(st, product)
		return ok && ss.State == "grace"
	}
}

// TestCheckAnswersWhatALaunchWouldGet: `tollgate check` answers, at each instant, what a
// launch would get, asking the ledger as a launch does; `tollgate launch` starts what a
// direct start would.
func TestCheckAnswersWhatALaunchWouldGet(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		t.Run("during your own grace, your team's tokens less nothing of your own hold", func(t *testing.T) {
			s := newSystem(t, kind, 1000)
			r := s.agent()
			r.Launch("bin/revit")
			r.Settled(inGrace("revit"))
			res := checkCLI(t, r, "revit")
			if !res.Allowed || res.Reason != charge.InGrace || res.Available != 1000 || !strings.Contains(res.Message, "your team has 1000") {
				t.Errorf("got %+v %q, want allowed in grace with the team's 1000 tokens", res.Decision, res.Message)
			}
		})
		t.Run("no snapshot yet on a machine that reaches the ledger", func(t *testing.T) {
			s := newSystem(t, kind, 1000)
			r := s.agent()
			res := checkCLI(t, r, "revit")
			if !res.Allowed || res.Reason != charge.InGrace {
				t.Errorf("got %+v %q, want allowed in grace", res.Decision, res.Message)
			}
			// launch leaves the product running after it exits, in its process group.
			logf, err := os.Create(filepath.Join(t.TempDir(), "launch.out"))
			if err != nil {
				t.Fatal(err)
			}
			c := exec.Command(bins.Tollgate, "launch", "revit", "--socket", r.Sock, "--", filepath.Join(r.Dir, "bin/revit"))
			c.Stdout, c.Stderr = logf, logf
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			err = c.Run()
			t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
			if err != nil {
				out, _ := os.ReadFile(logf.Name())
				t.Fatalf("tollgate launch: %v\n%s", err, out)
			}
			r.Settled(inGrace("revit"))
		})
		t.Run("right after the user is assigned", func(t *testing.T) {
			clock := agenttest.NewClock(t, t.TempDir())
			l := ledgertest.Start(t, bins.Tollgate, dbFor(t, kind), clock.Path)
			s := &system{t: t, clock: clock, ledger: l, enroll: l.Studio(1000)} // nobody assigned yet
			r := s.agent()
			if res := checkCLI(t, r, "revit"); res.Allowed || res.Reason != charge.NotAssigned {
				t.Errorf("before the assignment: got %+v, want denied not_assigned", res.Decision)
			}
			l.CLI("user", "assign", me, "--team", "studio")
			if res := checkCLI(t, r, "revit"); !res.Allowed || res.Reason != charge.InGrace {
				t.Errorf("right after the assignment: got %+v %q, want allowed in grace", res.Decision, res.Message)
			}
		})
		t.Run("right after a restriction during your grace", func(t *testing.T) {
			s := newSystem(t, kind, 1000)
			r := s.agent()
			p := r.Launch("bin/revit")
			r.Settled(inGrace("revit"))
			s.ledger.CLI("user", "assign", me, "--team", "studio", "--products", "autocad,rhino")
			if res := checkCLI(t, r, "revit"); res.Allowed || res.Reason != charge.ProductRestricted {
				t.Errorf("got %+v %q, want denied product_restricted", res.Decision, res.Message)
			}
			exited := make(chan error, 1)
			go func() { exited <- p.Wait() }()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Errorf("the restricted Revit is still running 10 s after the check")
			}
		})
	})
}
