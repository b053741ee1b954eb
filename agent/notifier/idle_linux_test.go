//go:build linux

package notifier_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/agent/notifier"
	"tollgate/agent/notifier/notifiertest"
	"tollgate/charge"
	"tollgate/clock/clocktest"
	"tollgate/platform"
)

// TestIdleProductClosedThroughNotifier: the notifier reports the session's input
// idleness (the desktop's answer is the test's, as CI has no desktop), the agent warns
// through it at 07:45 and closes the idle Revit at its 08:00 renewal instead of charging.
func TestIdleProductClosedThroughNotifier(t *testing.T) {
	r := newRig(t, 100)
	cfg, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, strings.Replace(string(cfg), "policy:\n", "policy:\n  renewal_when_idle: close\n", 1))
	r.Start()

	var idle atomic.Int64 // what the desktop says: how long since the last input
	asked := make(chan platform.ProcKey, 4)
	display := &notifiertest.Display{}
	n := notifier.New(notifier.Options{Socket: r.Sock, Display: display, Logger: zaptest.NewLogger(t),
		Clock: clocktest.New(agenttest.Day1), IdleEvery: 100 * time.Millisecond,
		Idle: func(context.Context) (time.Duration, error) { return time.Duration(idle.Load()), nil },
		// As on Windows, where only the user's session reaches the product's windows.
		AskClose: func(_ context.Context, k platform.ProcKey) error { asked <- k; return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()

	revit := r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	r.SetClock(agenttest.Day1.Add(5 * time.Minute))
	r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid"
	})

	tue := agenttest.Day1.Add(charge.Day)
	home := agenttest.Day1.Add(10 * time.Hour)
	// at moves the clock, the desktop's idleness with it, and waits for a report made
	// after the move to reach the agent: its session shows idle since 18:00.
	at := func(when time.Time) localapi.Status {
		idle.Store(int64(when.Sub(home)))
		r.SetClock(when)
		return r.Settled(func(st localapi.Status) bool {
			s, ok := agenttest.SessionOf(st, "revit")
			return !ok || s.IdleSince.Equal(home)
		})
	}
	at(tue.Add(-16 * time.Minute))
	at(tue.Add(-14 * time.Minute))
	shown := func(title string) {
		t.Helper()
		eventually(t, title, func() bool {
			for _, x := range display.Notices() {
				if x.Title == title {
					return true
				}
			}
			return false
		})
	}
	shown("Autodesk Revit will be closed at " + tue.Local().Format("Mon 15:04"))
	at(tue.Add(-time.Minute))
	at(tue.Add(5 * time.Second))
	r.WaitFor("the product to quit", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && !s.Running })
	st := at(tue.Add(time.Minute))
	if _, ok := agenttest.SessionOf(st, "revit"); ok {
		st = r.WaitFor("the session to end", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return !ok })
	}
	shown("Autodesk Revit closed: 10 tokens saved")
	select {
	case k := <-asked:
		if int(k.PID) != revit.Process.Pid {
			t.Errorf("notifier asked process %v to close, want Revit's pid %d", k, revit.Process.Pid)
		}
	default:
		t.Errorf("the notifier did not ask Revit to close from the desktop session")
	}
	if got := *st.Available; got != 90 {
		t.Errorf("got %d tokens available, want 90: the renewal not charged", got)
	}
}
