//go:build linux

package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/charge"
)

func TestLaunchGraceThenCharge(t *testing.T) {
	r := newRig(t, 100)
	r.start()
	p := r.launch("bin/revit")
	st := r.settled(func(st agent.Status) bool { s, ok := sessionOf(st, "revit"); return ok && s.State == "grace" })
	if got, want := *st.Available, int64(90); got != want {
		t.Errorf("got available %d in grace, want %d (10 held)", got, want)
	}
	if m, ok := messageOf(st, "grace"); !ok || !strings.Contains(m.Body, "Closing Autodesk Revit within 5 minutes costs nothing") {
		t.Errorf("got messages %+v, want the grace notice", st.Messages)
	}
	r.setClock(day1.Add(4*time.Minute + 59*time.Second))
	st = r.settled(nil)
	if s, _ := sessionOf(st, "revit"); s.State != "grace" {
		t.Errorf("got %s at 4m59s, want still grace", s.State)
	}
	r.setClock(day1.Add(5 * time.Minute))
	st = r.settled(func(st agent.Status) bool { s, ok := sessionOf(st, "revit"); return ok && s.State == "paid" })
	if m, ok := messageOf(st, "charged"); !ok || m.Title != "Autodesk Revit: 10 tokens charged" {
		t.Errorf("got messages %+v, want the charge told", st.Messages)
	}
	r.quit(p)
	r.waitFor("the process to go", func(st agent.Status) bool { s, ok := sessionOf(st, "revit"); return ok && !s.Running })
	r.setClock(r.now.Add(charge.MergeGap))
	r.waitFor("the session to end", func(st agent.Status) bool { return len(st.Sessions) == 0 })
	r.stop()
	got := r.charges()
	want := charge.Key{Team: "studio", User: "root@studio.example", Product: "revit", Start: day1}
	if len(got) != 1 || got[0].Key != want || got[0].Tokens != 10 {
		t.Errorf("got charges %+v, want one of 10 tokens keyed %v", got, want)
	}
}

func TestClosedWithinGraceCostsNothing(t *testing.T) {
	r := newRig(t, 100)
	r.start()
	p := r.launch("bin/revit")
	r.settled(func(st agent.Status) bool { _, ok := sessionOf(st, "revit"); return ok })
	r.setClock(day1.Add(3 * time.Minute))
	r.settled(nil)
	r.quit(p)
	r.waitFor("the process to go", func(st agent.Status) bool { s, ok := sessionOf(st, "revit"); return ok && !s.Running })
	r.setClock(r.now.Add(charge.MergeGap))
	st := r.waitFor("the session to end", func(st agent.Status) bool { return len(st.Sessions) == 0 })
	if got, want := *st.Available, int64(100); got != want {
		t.Errorf("got available %d, want %d: the hold is released", got, want)
	}
	r.stop()
	if got := r.charges(); len(got) != 0 {
		t.Errorf("got charges %+v, want none for 3 minutes", got)
	}
}

// TestDeniedProductIsClosedAndUserTold: without the pre-exec gate (macOS, Windows, or
// Linux without the privilege), a denied product is closed right after it starts.
func TestDeniedProductIsClosedAndUserTold(t *testing.T) {
	r := newRig(t, 5)
	r.noGate = true
	r.start()
	p := r.launch("bin/revit")
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the denied product still runs after 15s")
	}
	st := r.waitFor("the denial message", func(st agent.Status) bool { _, ok := messageOf(st, "denied"); return ok })
	m, _ := messageOf(st, "denied")
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
	r.start()
	st := r.waitFor("the gate", func(st agent.Status) bool { return st.Gate != "" })
	if st.Gate != "on" {
		t.Fatalf("got gate %q, want on: this test machine runs as root with fanotify", st.Gate)
	}
	marker := filepath.Join(r.dir, "rhino-ran")
	c := r.launchErr("gated/rhino", "TOLLGATE_MARKER="+marker)
	if c == nil {
		t.Fatal("got rhino started, want the exec refused")
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("got marker %v, want none: the product's first instruction must not run", err)
	}
	st = r.waitFor("the denial message", func(st agent.Status) bool { _, ok := messageOf(st, "denied"); return ok })
	if m, _ := messageOf(st, "denied"); !strings.Contains(m.Body, "A day of Rhino costs 5 tokens and your team has 3 left") {
		t.Errorf("got %q, want the reason with its numbers", m.Body)
	}

	// With tokens, the same launch runs.
	r.setAvailable(100)
	r.reload()
	marker2 := filepath.Join(r.dir, "rhino-ran-2")
	if err := r.launchErr("gated/rhino", "TOLLGATE_MARKER="+marker2); err != nil {
		t.Fatalf("got %v, want rhino started once tokens were bought", err)
	}
	r.waitFor("rhino's session and its marker", func(st agent.Status) bool {
		_, ok := sessionOf(st, "rhino")
		_, err := os.Stat(marker2)
		return ok && err == nil
	})
}

func (r *rig) reload() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.client.Reload(ctx); err != nil {
		r.t.Fatal(err)
	}
}
