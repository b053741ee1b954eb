//go:build linux

package e2e

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/api"
)

// TestIdleReport: under renewal_when_idle: close, Revit left idle overnight is closed at its
// renewal and AutoCAD, held open by its save prompt, is renewed; the ledger stores both and
// `tollgate ledger report tokens --section idle` shows 10 tokens saved and 7 spent on an
// idle renewal.
func TestIdleReport(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 100)
		r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock})
		cfg, err := os.ReadFile(r.Config)
		if err != nil {
			t.Fatal(err)
		}
		agenttest.Write(t, r.Config, strings.Replace(string(cfg), "policy:\n", "policy:\n  renewal_when_idle: close\n", 1))
		r.Start()
		day1 := agenttest.Day1
		r.Launch("bin/revit")
		r.Launch("bin/acad", "TOLLGATE_IGNORE_TERM=1")
		r.Settled(func(st localapi.Status) bool { return len(st.Sessions) == 2 })
		r.SetClock(day1.Add(5 * time.Minute))
		r.Settled(func(st localapi.Status) bool {
			a, _ := agenttest.SessionOf(st, "revit")
			b, _ := agenttest.SessionOf(st, "autocad")
			return a.State == "paid" && b.State == "paid"
		})
		tue, home := day1.Add(charge.Day), day1.Add(10*time.Hour)
		for _, at := range []time.Time{tue.Add(-16 * time.Minute), tue.Add(-14 * time.Minute), tue.Add(-time.Minute)} {
			r.SetClock(at)
			r.Settled(nil)
			for {
				err := r.Client.ReportIdle(context.Background(), at.Sub(home))
				var ae *localapi.Error
				if errors.As(err, &ae) && ae.Code == "too_many_reports" {
					time.Sleep(100 * time.Millisecond) // at most one report every 2 s, as the notifier's tick
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		r.SetClock(tue.Add(5 * time.Second))
		r.WaitFor("Revit to quit", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && !s.Running })
		r.SetClock(tue.Add(2 * time.Minute))
		r.Settled(func(st localapi.Status) bool {
			_, revit := agenttest.SessionOf(st, "revit")
			b, _ := agenttest.SessionOf(st, "autocad")
			return !revit && b.State == "paid" && b.Until.Equal(tue.Add(charge.Day)) && st.Backlog == 0
		})

		got := s.ledger.Tokens("studio").Idle
		want := []api.IdleDay{
			{Day: "2026-11-03", Team: "studio", User: me, Product: "autocad", IdleRenewals: 1, IdleTokens: 7},
			{Day: "2026-11-03", Team: "studio", User: me, Product: "revit", IdleCloses: 1, SavedTokens: 10},
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("got idle report %+v, want %+v", got, want)
		}
		if b := s.ledger.Tokens("studio").Balance.Available; b != 100-10-7-7 {
			t.Errorf("got %d available, want %d: both Monday windows and AutoCAD's renewal", b, 100-10-7-7)
		}
		out := s.ledger.CLI("report", "tokens", "--team", "studio", "--section", "idle", "--from", "2026-11-01")
		for _, line := range []string{"2026-11-03  studio  root@studio.example  autocad  1", "TOTAL"} {
			if !strings.Contains(out, line) {
				t.Errorf("report shows\n%s\nwant a line with %q", out, line)
			}
		}
		if !strings.Contains(strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[len(strings.Split(strings.TrimSpace(out), "\n"))-1])[0], "TOTAL") {
			t.Errorf("report shows\n%s\nwant totals last", out)
		}
		t.Logf("\n%s", out)
	})
}
