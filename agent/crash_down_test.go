//go:build linux

package agent_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

// nameRig is a workstation whose catalogue matches Revit by its executable's name, as a
// real catalogue does: the process source then reports only processes of that name, so
// its first scan after a restart is empty when no product runs. The name is unique to
// the test, so that other tests' products never show up in it.
func nameRig(t *testing.T) (*agenttest.Rig, string) {
	t.Helper()
	r := newRig(t, 100)
	b := make([]byte, 4)
	rand.Read(b)
	exe := "rvt" + hex.EncodeToString(b)
	data, err := os.ReadFile(bins.Product)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "bin", exe), data, 0o755); err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, fmt.Sprintf(`entitlement_file: %s
identity:
  template: "{user}@studio.example"
products:
  - id: revit
    name: Autodesk Revit
    match:
      exe: [%s]
      path: ["%s/bin/%s"]
policy:
  poll_interval: 50ms
`, r.Snap, exe, r.Dir, exe))
	return r, "bin/" + exe
}

// TestProductClosedWhileAgentDownIsNotCharged: Revit runs, the agent is killed, Revit is
// closed, and the agent comes back with nothing running. The session ends at the last
// instant the agent saw Revit running; the time the agent was down is not use, so a grace
// is never charged and a window is never renewed for it.
func TestProductClosedWhileAgentDownIsNotCharged(t *testing.T) {
	tests := []struct {
		name    string
		ran     []time.Duration // clock steps while Revit runs and the agent watches
		back    time.Duration   // when the agent comes back
		charges int             // charges in the journal at the end
		left    int64           // tokens available at the end
	}{
		{"grace, back before it would end", []time.Duration{20 * time.Second}, time.Minute, 0, 100},
		{"grace, back after it would have ended", []time.Duration{20 * time.Second}, 10 * time.Minute, 0, 100},
		{"grace nearly spent, back after it would have ended", []time.Duration{4*time.Minute + 30*time.Second}, 6 * time.Minute, 0, 100},
		{"charged, back within the window", []time.Duration{5 * time.Minute, 6 * time.Minute}, 2 * time.Hour, 1, 90},
		{"charged, back after the window", []time.Duration{5 * time.Minute, 6 * time.Minute}, 30 * time.Hour, 1, 90},
		{"renewal due, back before it", []time.Duration{5 * time.Minute, 23*time.Hour + 50*time.Minute}, 23*time.Hour + 55*time.Minute, 1, 90},
		{"renewal due, back after it", []time.Duration{5 * time.Minute, 23*time.Hour + 50*time.Minute}, 24*time.Hour + 10*time.Minute, 1, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, revit := nameRig(t)
			r.Start()
			p := r.Launch(revit)
			r.Settled(func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && s.Running })
			var seen charge.Session
			for _, at := range tt.ran {
				r.SetClock(day1.Add(at))
				st := r.Settled(func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && s.Running })
				seen, _ = agenttest.SessionOf(st, "revit")
			}
			r.Kill()
			r.Quit(p)
			r.SetClock(day1.Add(tt.back))
			r.Start()
			st := r.Settled(func(st localapi.Status) bool { return len(st.Sessions) == 0 })
			if got := *st.Available; got != tt.left {
				t.Errorf("got %d tokens available when the agent is back, want %d (session was %s)", got, tt.left, seen.State)
			}
			// Nothing comes due later either.
			r.SetClock(day1.Add(tt.back + 25*time.Hour))
			st = r.Settled(nil)
			if got := *st.Available; got != tt.left {
				t.Errorf("got %d tokens available a day later, want %d", got, tt.left)
			}
			r.Stop()
			var ended []charge.Effect
			for _, e := range r.Entries() {
				if e.Effect.Kind == charge.Ended {
					ended = append(ended, e.Effect)
				}
			}
			if got := len(r.Charges()); got != tt.charges {
				t.Errorf("got %d charges %+v, want %d", got, r.Charges(), tt.charges)
			}
			last := day1.Add(tt.ran[len(tt.ran)-1])
			if len(ended) != 1 || !ended[0].At.Equal(last) {
				t.Errorf("got session ends %+v, want one at %s, when the agent last saw Revit", ended, last.Format(time.RFC3339))
			}
		})
	}
}

// TestRunningProductKeepsItsSessionAcrossRestart: a product still running when the agent
// comes back keeps its session; the downtime is not grace use.
func TestRunningProductKeepsItsSessionAcrossRestart(t *testing.T) {
	r, revit := nameRig(t)
	r.Start()
	r.Launch(revit)
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	r.SetClock(day1.Add(2 * time.Minute))
	r.Settled(func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && s.Running })
	r.Kill()
	r.SetClock(day1.Add(20 * time.Minute))
	r.Start()
	st := r.Settled(func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && s.Running })
	s, _ := agenttest.SessionOf(st, "revit")
	if s.State != "grace" || s.GraceLeft != 3*time.Minute || !s.Start.Equal(day1) {
		t.Errorf("got session %+v after the restart, want the one started at %s in grace with 3m left", s, day1.Format(time.RFC3339))
	}
	r.SetClock(day1.Add(23 * time.Minute))
	r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid"
	})
	r.Stop()
	want := charge.Key{Team: "studio", User: "root@studio.example", Product: "revit", Start: day1}
	if got := r.Charges(); len(got) != 1 || got[0].Key != want {
		t.Errorf("got charges %+v, want one keyed %v", got, want)
	}
}

// TestRestartIsNotSleep: a monotonic clock counts from an origin of its own (the agent's
// start), so a restarted agent's readings cannot be compared with the journal's. A
// restart a while after the last journaled instant is not sleep: the running product
// keeps its session, and the time the agent was down is not use.
func TestRestartIsNotSleep(t *testing.T) {
	r, revit := nameRig(t)
	setClock := func(wall time.Time, mono time.Duration) {
		r.Clock.Now = wall
		agenttest.Write(t, r.Clock.Path, fmt.Sprintf("%s %s", wall.Format(time.RFC3339), mono))
	}
	setClock(day1, 10*time.Minute)
	r.Start()
	r.Launch(revit)
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	setClock(day1.Add(time.Minute), 11*time.Minute)
	r.Settled(nil)
	r.Kill()
	// The new process's monotonic clock has barely moved past the old one's last reading,
	// while the wall clock moved on two minutes: what sleep looks like to one process.
	setClock(day1.Add(3*time.Minute), 11*time.Minute+10*time.Second)
	r.Start()
	st := r.Settled(func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && s.Running })
	if s, _ := agenttest.SessionOf(st, "revit"); !s.Start.Equal(day1) || s.Use != time.Minute {
		t.Errorf("got session %+v, want the one started at %s with 1m of use", s, day1.Format(time.RFC3339))
	}
}
