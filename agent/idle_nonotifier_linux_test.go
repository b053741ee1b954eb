//go:build linux

package agent_test

import (
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

// TestIdleProductWithoutNotifierIsRenewed: under renewal_when_idle: close, with no notifier
// reporting the session's input, a Revit left open overnight (its process idle, no CPU) is
// never taken as idle: no warning at 07:45, no close at 08:00, renewed as today. CPU alone
// never closes anything.
func TestIdleProductWithoutNotifierIsRenewed(t *testing.T) {
	r := idleRig(t)
	paidUntilTuesday(t, r)
	r.SetClock(tue08.Add(-14 * time.Minute))
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "renewing"); return ok })
	if m, ok := agenttest.MessageOf(st, "idle_closing"); ok {
		t.Errorf("got %q, want no idle warning without a notifier", m.Title)
	}
	if s, _ := agenttest.SessionOf(st, "revit"); !s.IdleSince.IsZero() {
		t.Errorf("got the session idle since %v, want it in use: nothing reported its input", s.IdleSince)
	}
	r.SetClock(tue08.Add(5 * time.Second))
	st = r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid" && s.Until.Equal(tue08.Add(charge.Day))
	})
	if s, _ := agenttest.SessionOf(st, "revit"); !s.Running {
		t.Errorf("got Revit no longer running, want it left open")
	}
	if _, ok := agenttest.MessageOf(st, "idle_close"); ok {
		t.Errorf("got an idle close, want none without a notifier")
	}
	r.Stop()
	if got := renewals(r); len(got) != 1 || got[0].Reason != "" || !got[0].Key.Start.Equal(tue08) {
		t.Errorf("got renewals %+v, want one from %v, not flagged idle", got, tue08)
	}
}
