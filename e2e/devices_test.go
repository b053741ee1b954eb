//go:build linux

package e2e

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestWindowCoversEveryDevice: Mary's Revit window paid on her desktop covers her laptop.
func TestWindowCoversEveryDevice(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 100)
		desktop, laptop := s.agent(), s.agent()
		play(t, desktop, []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * time.Minute}, {at: 4 * time.Hour, quit: "r"}, {at: 4*time.Hour + time.Minute}})
		laptop.SetClock(day1.Add(10 * time.Hour))
		laptop.Launch("bin/revit")
		st := laptop.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
		if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "paid" || !ss.Until.Equal(day1.Add(24*time.Hour)) {
			t.Errorf("got the laptop's session %+v, want it inside the desktop's window until %v", ss, day1.Add(24*time.Hour))
		}
		laptop.SetClock(day1.Add(10*time.Hour + 10*time.Minute))
		laptop.WaitFor("the laptop's answers", func(st localapi.Status) bool { return st.Backlog == 0 && st.Now.Equal(laptop.Now()) })
		if got, want := s.ledger.Charges("studio"), []string{key("revit", day1, 10)}; !slices.Equal(got, want) {
			t.Errorf("got charges %v, want %v", got, want)
		}
	})
}

// TestOfflineDevicesChargeOnce: two devices that both charged while the ledger was down
// end with one debit; the later window is folded into the earlier one, and the device
// that paid it moves to the earlier window.
func TestOfflineDevicesChargeOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 100)
		desktop, laptop := s.agent(), s.agent()
		// Both learn the user's entitlement while online.
		for _, r := range []*agenttest.Rig{desktop, laptop} {
			p := r.Launch("bin/acad")
			r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "autocad"); return ok })
			r.Quit(p)
		}
		s.clock.Set(t, day1.Add(time.Minute))
		s.ledger.Kill()
		desktop.Launch("bin/revit")
		desktop.Settled(func(st localapi.Status) bool {
			ss, ok := agenttest.SessionOf(st, "revit")
			return ok && ss.State == "grace"
		})
		s.clock.Set(t, day1.Add(10*time.Minute))
		laptop.Launch("bin/revit")
		laptop.Settled(func(st localapi.Status) bool {
			ss, ok := agenttest.SessionOf(st, "revit")
			return ok && ss.State == "grace"
		})
		s.clock.Set(t, day1.Add(20*time.Minute)) // both charge, offline
		for _, r := range []*agenttest.Rig{desktop, laptop} {
			st := r.Settled(func(st localapi.Status) bool { ss, _ := agenttest.SessionOf(st, "revit"); return ss.State == "paid" })
			if st.Ledger == nil || st.Ledger.Online {
				t.Errorf("got ledger status %+v, want offline", st.Ledger)
			}
		}
		s.ledger.Restart()
		for _, r := range []*agenttest.Rig{desktop, laptop} {
			r.WaitFor("the backlog drained", func(st localapi.Status) bool { return st.Backlog == 0 })
		}
		// Whichever synced first stands; the other is folded into it.
		got := s.ledger.Charges("studio")
		if len(got) != 1 || (got[0] != key("revit", day1.Add(time.Minute), 10) && got[0] != key("revit", day1.Add(10*time.Minute), 10)) {
			t.Fatalf("got charges %v, want one of the two windows debited once", got)
		}
		if b := s.ledger.Tokens("studio").Balance; b.Available != 90 {
			t.Errorf("got balance %+v, want 90 available", b)
		}
		refused := s.ledger.Tokens("studio").Refused
		if len(refused) != 1 || refused[0].Status != "folded" {
			t.Errorf("got refused %+v, want the other charge reported as folded", refused)
		}
		standing := day1.Add(time.Minute)
		if strings.Contains(got[0], "08:10") {
			standing = day1.Add(10 * time.Minute)
		}
		for _, r := range []*agenttest.Rig{desktop, laptop} {
			r.WaitFor("both devices on the standing window", func(st localapi.Status) bool {
				ss, _ := agenttest.SessionOf(st, "revit")
				return ss.Until.Equal(standing.Add(24 * time.Hour))
			})
		}
	})
}

// TestExhaustionThroughAgents: one Revit day left, 20 agents launch at once: one runs,
// nineteen are blocked and told why.
func TestExhaustionThroughAgents(t *testing.T) {
	eachStore(t, exhaustion)
}

func exhaustion(t *testing.T, kind string) {
	s := newSystem(t, kind, 100)
	s.spend(t, 90)
	var rigs []*agenttest.Rig
	for range 20 {
		rigs = append(rigs, s.agent(func(o *agenttest.Options) { o.NoGate = true }))
	}
	var wg sync.WaitGroup
	for _, r := range rigs {
		wg.Go(func() { r.Launch("bin/revit") })
	}
	wg.Wait()
	running, blocked := 0, 0
	for _, r := range rigs {
		st := r.WaitFor("the launch decided", func(st localapi.Status) bool {
			_, denied := agenttest.MessageOf(st, "denied")
			_, open := agenttest.SessionOf(st, "revit")
			return denied || open
		})
		if m, ok := agenttest.MessageOf(st, "denied"); ok {
			blocked++
			if !strings.Contains(m.Body, "A day of Autodesk Revit costs 10 tokens and your team has no tokens left") &&
				!strings.Contains(m.Body, "your team has 10 left") {
				t.Errorf("got %q, want the reason with its numbers", m.Body)
			}
		} else {
			running++
		}
	}
	if running != 1 || blocked != 19 {
		t.Errorf("got %d running and %d blocked, want 1 and 19", running, blocked)
	}
	if b := s.ledger.Tokens("studio").Balance; b.Held != 10 || b.Available != 0 {
		t.Errorf("got balance %+v, want the one launch's 10 held", b)
	}
}
