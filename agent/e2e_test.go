//go:build linux

package agent_test

import (
	"context"
	"errors"
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
)

func TestLaunchGraceThenCharge(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	p := r.Launch("bin/revit")
	st := r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "grace"
	})
	if got, want := *st.Available, int64(90); got != want {
		t.Errorf("got available %d in grace, want %d (10 held)", got, want)
	}
	if m, ok := agenttest.MessageOf(st, "grace"); !ok || !strings.Contains(m.Body, "Closing Autodesk Revit within 5 minutes costs nothing") {
		t.Errorf("got messages %+v, want the grace notice", st.Messages)
	}
	r.SetClock(day1.Add(4*time.Minute + 59*time.Second))
	st = r.Settled(nil)
	if s, _ := agenttest.SessionOf(st, "revit"); s.State != "grace" {
		t.Errorf("got %s at 4m59s, want still grace", s.State)
	}
	r.SetClock(day1.Add(5 * time.Minute))
	st = r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid"
	})
	if m, ok := agenttest.MessageOf(st, "charged"); !ok || m.Title != "Autodesk Revit: 10 tokens charged" {
		t.Errorf("got messages %+v, want the charge told", st.Messages)
	}
	r.Quit(p)
	r.WaitFor("the process to go", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && !s.Running })
	r.SetClock(r.Now().Add(charge.MergeGap))
	r.WaitFor("the session to end", func(st localapi.Status) bool { return len(st.Sessions) == 0 })
	r.Stop()
	got := r.Charges()
	want := charge.Key{Team: "studio", User: "root@studio.example", Product: "revit", Start: day1}
	if len(got) != 1 || got[0].Key != want || got[0].Tokens != 10 {
		t.Errorf("got charges %+v, want one of 10 tokens keyed %v", got, want)
	}
}

func TestClosedWithinGraceCostsNothing(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	p := r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	r.SetClock(day1.Add(3 * time.Minute))
	r.Settled(nil)
	r.Quit(p)
	r.WaitFor("the process to go", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && !s.Running })
	r.SetClock(r.Now().Add(charge.MergeGap))
	st := r.WaitFor("the session to end", func(st localapi.Status) bool { return len(st.Sessions) == 0 })
	if got, want := *st.Available, int64(100); got != want {
		t.Errorf("got available %d, want %d: the hold is released", got, want)
	}
	r.Stop()
	if got := r.Charges(); len(got) != 0 {
		t.Errorf("got charges %+v, want none for 3 minutes", got)
	}
}

// TestDeniedProductIsClosedAndUserTold: without the pre-exec gate (macOS, Windows, or
// Linux without the privilege), a denied product is closed right after it starts.
func TestDeniedProductIsClosedAndUserTold(t *testing.T) {
	r := newRig(t, 5, noGate)
	r.Start()
	p := r.Launch("bin/revit")
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the denied product still runs after 15s")
	}
	st := r.WaitFor("the denial message", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "denied"); return ok })
	m, _ := agenttest.MessageOf(st, "denied")
	for _, want := range []string{"A day of Autodesk Revit costs 10 tokens and your team has 5 left", "Contact Studio IT, it@studio.example, ext. 200"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("got message %q, want it to say %q", m.Body, want)
		}
	}
	if m.Title != "Autodesk Revit was not started" || !m.Urgent {
		t.Errorf("got title %q urgent %v, want an urgent 'not started'", m.Title, m.Urgent)
	}
	if len(st.Sessions) != 0 {
		t.Errorf("got sessions %+v, want none", st.Sessions)
	}
}

// TestPreExecGate: a launch that would be denied never runs its first instruction.
func TestPreExecGate(t *testing.T) {
	r := newRig(t, 3) // Rhino costs 5
	r.Start()
	st := r.WaitFor("the gate", func(st localapi.Status) bool { return st.Gate != "" })
	if !strings.HasPrefix(st.Gate, "on") {
		t.Fatalf("got gate %q, want on: this test machine runs as root with fanotify", st.Gate)
	}
	marker := filepath.Join(r.Dir, "rhino-ran")
	if _, err := r.TryLaunch("gated/rhino", "TOLLGATE_MARKER="+marker); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("got %v starting rhino, want the exec refused with EPERM", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("got marker %v, want none: the product's first instruction must not run", err)
	}
	st = r.WaitFor("the denial message", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "denied"); return ok })
	if m, _ := agenttest.MessageOf(st, "denied"); !strings.Contains(m.Body, "A day of Rhino costs 5 tokens and your team has 3 left") {
		t.Errorf("got %q, want the reason with its numbers", m.Body)
	}

	// With tokens, the same launch runs.
	r.SetAvailable(100)
	reload(r)
	marker2 := filepath.Join(r.Dir, "rhino-ran-2")
	if _, err := r.TryLaunch("gated/rhino", "TOLLGATE_MARKER="+marker2); err != nil {
		t.Fatalf("got %v, want rhino started once tokens were bought", err)
	}
	r.WaitFor("rhino's session and its marker", func(st localapi.Status) bool {
		_, ok := agenttest.SessionOf(st, "rhino")
		_, err := os.Stat(marker2)
		return ok && err == nil
	})
}

func reload(r *agenttest.Rig) {
	r.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Client.Reload(ctx); err != nil {
		r.T.Fatal(err)
	}
}

// TestLaunchVerb: `tollgate launch` asks first and starts the product only when allowed.
func TestLaunchVerb(t *testing.T) {
	tests := []struct {
		name      string
		available int64
		wantCode  int
		wantOut   string
		wantRan   bool
	}{
		{"denied", 5, 3, "Autodesk Revit: denied (insufficient_tokens)\nA day of Autodesk Revit costs 10 tokens and your team has 5 left.\nContact Studio IT, it@studio.example, ext. 200.", false},
		{"allowed", 100, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.available)
			r.Start()
			product := filepath.Join(r.Dir, "bin/revit")
			t.Cleanup(func() { exec.Command("pkill", "-f", product).Run() }) // launch lets the product go on its own
			marker := filepath.Join(r.Dir, "ran")
			c := exec.Command(bins.Tollgate, "launch", "revit", "--socket", r.Sock, "--", product)
			c.Env = append(os.Environ(), "TOLLGATE_MARKER="+marker)
			// A file, not a pipe: the product inherits launch's output and outlives it.
			outf, err := os.Create(filepath.Join(r.Dir, "launch.out"))
			if err != nil {
				t.Fatal(err)
			}
			c.Stdout, c.Stderr = outf, outf
			err = c.Run()
			outf.Close()
			out, _ := os.ReadFile(outf.Name())
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tt.wantCode || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("got exit %d and %q, want %d and %q", code, out, tt.wantCode, tt.wantOut)
			}
			if tt.wantRan {
				r.WaitFor("the launched product and its marker", func(st localapi.Status) bool {
					_, ok := agenttest.SessionOf(st, "revit")
					_, err := os.Stat(marker)
					return ok && err == nil
				})
				return
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("got the denied product run, want it never started")
			}
		})
	}
}

// TestTokensRunningLow: a charge that leaves the team less than three days of the
// product tells the user, once.
func TestTokensRunningLow(t *testing.T) {
	r := newRig(t, 25)
	r.Start()
	r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	r.SetClock(day1.Add(5 * time.Minute))
	st := r.WaitFor("the low-balance notice", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "low_balance"); return ok })
	m, _ := agenttest.MessageOf(st, "low_balance")
	if want := "Your team has 15 tokens left: 1 more day of Autodesk Revit. Tell Studio IT, it@studio.example, ext. 200."; m.Body != want {
		t.Errorf("got %q, want %q", m.Body, want)
	}
}

// TestAccountWithoutName: a process of an account the OS cannot name (a directory user on
// a static build) is the user uid:N, which the identity table maps.
func TestAccountWithoutName(t *testing.T) {
	r := newRig(t, 100)
	for _, d := range []string{r.Dir, filepath.Dir(r.Dir)} {
		os.Chmod(d, 0o755)
	}
	agenttest.Write(r.T, r.Config, strings.Replace(readFile(t, r.Config), "identity:\n", "identity:\n  table: {\"uid:41007\": tgtest@studio.example}\n", 1))
	r.Start()
	p := exec.Command(filepath.Join(r.Dir, "bin/revit"))
	p.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 41007, Gid: 41007}}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { p.Process.Kill(); p.Wait() }()
	st := r.WaitFor("the session", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	if ss, _ := agenttest.SessionOf(st, "revit"); ss.User != "tgtest@studio.example" {
		t.Errorf("got user %q, want the table's tgtest@studio.example for uid 41007", ss.User)
	}
}
