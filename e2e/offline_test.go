//go:build linux

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestOffline31Days: the ledger is gone for 31 days while Revit stays open. The agent
// renews it every day from its journal; after a day offline a new charged launch is
// refused as offline_too_long while the subscription's product still opens; when the
// ledger returns the backlog drains and every day is charged once.
func TestOffline31Days(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 1000)
		s.ledger.CLI("subscription", "add", me, "--team", "studio", "--product", "autocad", "--from", "2026-01-01")
		r := s.agent(func(o *agenttest.Options) { o.NoGate = true })
		play(t, r, []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * time.Minute}})
		a := r.Launch("bin/acad") // learns the subscription while online
		r.Settled(func(st localapi.Status) bool {
			ss, ok := agenttest.SessionOf(st, "autocad")
			return ok && ss.State == "subscription"
		})
		r.Quit(a)
		s.ledger.Kill()

		day := 24 * time.Hour
		r.SetClock(day1.Add(2*day + time.Hour))
		r.Settled(nil)
		rhino := r.Launch("gated/rhino")
		rhino.Wait()
		st := r.WaitFor("the refusal", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "denied"); return ok })
		if m, _ := agenttest.MessageOf(st, "denied"); !strings.Contains(m.Body, "has not reached the licence server for 2 days") {
			t.Errorf("got %q, want offline too long", m.Body)
		}
		a = r.Launch("bin/acad")
		r.Settled(func(st localapi.Status) bool {
			ss, ok := agenttest.SessionOf(st, "autocad")
			return ok && ss.State == "subscription"
		})
		r.Quit(a)
		if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "paid" {
			t.Errorf("got revit %+v, want its paid window going on", ss)
		}

		for d := 3; d <= 31; d++ {
			r.SetClock(day1.Add(time.Duration(d) * day))
			r.Settled(nil)
		}
		st = r.Settled(nil)
		if st.Backlog == 0 || st.Ledger == nil || st.Ledger.Online {
			t.Fatalf("got backlog %d, ledger %+v after 31 days offline, want a backlog, offline", st.Backlog, st.Ledger)
		}
		s.ledger.Restart()
		// The next thing journaled goes at once, and the backlog with it; the sync loop's
		// own retry is up to a minute away.
		r.Launch("bin/acad")
		r.WaitFor("the backlog drained", func(st localapi.Status) bool { return st.Backlog == 0 && st.Ledger.Online })
		var want []string
		for d := range 32 {
			want = append(want, key("revit", day1.Add(time.Duration(d)*day), 10))
		}
		got := s.ledger.Charges("studio")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("got %d charges %v, want the 32 days once each", len(got), got)
		}
		if b := s.ledger.Tokens("studio").Balance; b.Available != 1000-320 || b.Held != 0 {
			t.Errorf("got balance %+v, want %d available, nothing held", b, 1000-320)
		}
	})
}
