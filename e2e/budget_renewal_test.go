//go:build linux

package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestRenewalPastACapCloses: under renewal_when_empty: close, a running Revit whose
// renewal would take its user past a month's cap is warned, with the cap's numbers, and
// closed when the warning runs out, on a real agent against a real ledger: the ledger
// holds the first day only, and the product process is gone.
func TestRenewalPastACapCloses(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 1000)
		s.ledger.CLI("budget", "set", "--team", "studio", "--user", me, "--month", "15")
		r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock, NoGate: true})
		agenttest.Write(t, r.Config, strings.Replace(readConfig(t, r.Config), "policy:\n", "policy:\n  renewal_when_empty: close\n  close_after: 15m\n", 1))
		r.Start()
		play(t, r, []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * time.Minute}})
		procs, _, _ := r.Procs()

		r.SetClock(day1.Add(24*time.Hour + time.Minute))
		st := r.WaitFor("the warning that Revit closes", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "closing"); return ok })
		m, _ := agenttest.MessageOf(st, "closing")
		if want := "You have used 10 of your 15 tokens this month, and a day of Autodesk Revit costs 10 more"; !strings.Contains(m.Body, want) {
			t.Errorf("closing message: got %q, want it to contain %q", m.Body, want)
		}
		r.SetClock(day1.Add(24*time.Hour + 16*time.Minute))
		st = r.WaitFor("Revit closed", func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "closed"); return ok })
		if m, _ := agenttest.MessageOf(st, "closed"); !strings.Contains(m.Body, "closed rather than renewed") {
			t.Errorf("closed message: got %q, want the cap named as the reason", m.Body)
		}
		exited := make(chan struct{})
		go func() { procs["r"].Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("got the Revit process still running 10 s after the close, want it closed")
		}
		r.WaitFor("the ledger's answers", func(st localapi.Status) bool { return st.Backlog == 0 })
		if got, want := s.ledger.Charges("studio"), []string{key("revit", day1, 10)}; !slices.Equal(got, want) {
			t.Errorf("got charges %v, want only the first day %v", got, want)
		}
	})
}

func readConfig(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
