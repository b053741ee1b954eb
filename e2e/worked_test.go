//go:build linux

package e2e

import (
	"slices"
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/agenttest"
	"tollgate/charge"
)

var day1 = agenttest.Day1

func key(product string, start time.Time, tokens int64) string {
	return charge.Key{Team: "studio", User: me, Product: product, Start: start}.String() + " " + itoa(tokens)
}

func itoa(n int64) string { return fmtInt(n) }

func TestLaunchChargedOnTheLedger(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 100)
		r := s.agent()
		p := r.Launch("bin/revit")
		st := r.Settled(func(st agent.Status) bool { ss, ok := agenttest.SessionOf(st, "revit"); return ok && ss.State == "grace" })
		if b := s.ledger.Tokens("studio").Balance; b.Held != 10 || b.Available != 90 {
			t.Errorf("got ledger balance %+v during grace, want 10 held, 90 available", b)
		}
		_ = st
		r.SetClock(day1.Add(5 * time.Minute))
		r.Settled(func(st agent.Status) bool { return st.Backlog == 0 && len(st.Sessions) == 1 && st.Sessions[0].State == "paid" })
		got := s.ledger.Charges("studio")
		if want := []string{key("revit", day1, 10)}; !slices.Equal(got, want) {
			t.Errorf("got ledger charges %v, want %v", got, want)
		}
		if b := s.ledger.Tokens("studio").Balance; b.Held != 0 || b.Available != 90 {
			t.Errorf("got ledger balance %+v after the charge, want 90 available, none held", b)
		}
		r.Quit(p)
	})
}
