//go:build linux

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/ledgertest"
	"tollgate/ledger/store/storetest"
)

// skewed is a ledger and a workstation whose clock runs ahead of it: each reads its own
// clock file.
type skewed struct {
	ledgerClock, agentClock *agenttest.Clock
	ahead                   time.Duration
	ledger                  *ledgertest.Proc
	enroll                  string
}

func newSkewed(t *testing.T, kind string, ahead time.Duration, products ...[3]string) *skewed {
	t.Helper()
	s := &skewed{ledgerClock: agenttest.NewClock(t, t.TempDir()), agentClock: agenttest.NewClock(t, t.TempDir()), ahead: ahead}
	s.agentClock.Set(t, day1.Add(ahead))
	db := ""
	if kind == "postgres" {
		db = storetest.URL(t, "postgres")
	}
	s.ledger = ledgertest.Start(t, bins.Tollgate, db, s.ledgerClock.Path)
	l := s.ledger
	l.CLI("team", "create", "studio")
	for _, p := range products {
		l.CLI("product", "add", p[0], "--rate", p[1], "--name", p[2])
	}
	l.CLI("user", "assign", me, "--team", "studio")
	l.CLI("pack", "buy", "--team", "studio", "--tokens", "100")
	s.enroll = strings.TrimSpace(strings.SplitN(l.CLI("enroll-token", "create", "--team", "studio"), "\n", 2)[0])
	return s
}

// at moves both clocks to d after day1 as each tells it: the ledger first, so that
// nothing the workstation stamps at its new time reaches a ledger still at the old one.
func (s *skewed) at(t *testing.T, d time.Duration) {
	s.ledgerClock.Set(t, day1.Add(d))
	s.agentClock.Set(t, day1.Add(s.ahead+d))
}

func (s *skewed) agent(t *testing.T) *agenttest.Rig {
	r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.agentClock})
	r.Start()
	return r
}

// metric reads one sample of the ledger's open /metrics.
func metric(t *testing.T, ledgerURL, name string) float64 {
	t.Helper()
	resp, err := http.Get(ledgerURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s:\n%s", name, body)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSkewedWorkstationIsCharged: a workstation whose clock runs 2 h ahead of the
// ledger uses Revit past its grace and into a second day. Before, the ledger refused
// every batch as "in the future" and the agent dropped the charges; now the ledger
// corrects the times by the skew the batch tells, and takes each charge once, at the
// ledger's time.
func TestSkewedWorkstationIsCharged(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSkewed(t, kind, 2*time.Hour, [3]string{"revit", "10", "Autodesk Revit"})
		r := s.agent(t)
		settled := func(procs int) {
			r.WaitFor("revit seen", func(st localapi.Status) bool {
				ss, _ := agenttest.SessionOf(st, "revit")
				return st.Now.Equal(s.agentClock.Now) && ss.Procs == procs
			})
			r.WaitFor("the ledger's answers", func(st localapi.Status) bool { return st.Backlog == 0 })
		}
		p := r.Launch("bin/revit")
		settled(1)
		s.at(t, 6*time.Minute)
		settled(1)
		if got, want := s.ledger.Charges("studio"), []string{key("revit", day1, 10)}; !slices.Equal(got, want) {
			t.Fatalf("after the grace: got charges %v, want %v (the window at the ledger's time)\n%s", got, want, r.LogTail())
		}
		s.at(t, 24*time.Hour+time.Minute)
		settled(1)
		r.Quit(p)
		settled(0)
		want := []string{key("revit", day1, 10), key("revit", day1.Add(24*time.Hour), 10)}
		if got := s.ledger.Charges("studio"); !slices.Equal(got, want) {
			t.Errorf("after the renewal: got charges %v, want %v", got, want)
		}
		if got := s.ledger.Tokens("studio").Balance.Available; got != 80 {
			t.Errorf("got %d tokens left, want 80", got)
		}
		st := r.WaitFor("status", func(localapi.Status) bool { return true })
		if st.Ledger == nil || st.Ledger.Refused != 0 {
			t.Errorf("got ledger status %+v, want nothing refused", st.Ledger)
		}
		if got := metric(t, s.ledger.URL, "tollgate_ledger_dead_letters"); got != 0 {
			t.Errorf("got %v dead letters, want 0", got)
		}
		r.Stop()
		for _, e := range r.Entries() {
			if _, refused := e.Answer.Refusal(); refused {
				t.Errorf("journal entry %s %s: answered %q", e.ID, e.Effect.Kind, e.Answer)
			}
		}
	})
}

// TestRefusedEventsAreDeadLettered: what the ledger refuses is kept in its dead-letter:
// seen in 'report refused', the metrics, the agent's status and its log, and re-sent by
// an admin once the cause is fixed. One workstation's denial names a product missing
// from the ledger's catalogue; another device, which does not send its clock, sends a
// charge stamped 2 h ahead.
func TestRefusedEventsAreDeadLettered(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		s := newSkewed(t, kind, 0, [3]string{"revit", "10", "Autodesk Revit"})
		l := s.ledger
		r := s.agent(t)

		// AutoCAD is configured on the workstation but not in the ledger's catalogue: its
		// launch is denied, and the denial the agent journals is refused by the ledger.
		r.Launch("bin/acad")
		st := r.WaitFor("a refusal in status", func(st localapi.Status) bool { return st.Ledger != nil && st.Ledger.Refused > 0 })
		if !strings.Contains(st.Ledger.LastRefusal, "autocad") {
			t.Errorf("got status's last refusal %q, want the reason naming autocad", st.Ledger.LastRefusal)
		}
		if log, _ := os.ReadFile(r.Log); !regexp.MustCompile(`WARN.*refused.*dead-letter`).Match(log) {
			t.Errorf("agent log has no warning of the refusal:\n%s", log)
		}

		// A device that does not say its clock: its charge 2 h ahead is refused.
		other := l.Device(t, s.enroll, "old-agent")
		ev := api.Event{ID: "old-1", Effect: charge.Effect{Kind: charge.Charged, At: day1.Add(2*time.Hour + charge.Grace), User: me, Product: "revit",
			Key: charge.Key{Team: "studio", User: me, Product: "revit", Start: day1.Add(2 * time.Hour)}, Tokens: 10}}
		if _, err := other.Ingest(context.Background(), []api.Event{ev}); err == nil {
			t.Fatal("a charge 2 h in the future without the device's clock: taken, want refused")
		}

		report := l.CLI("report", "refused", "--team", "studio")
		for _, want := range []string{"old-1", "in the future", "autocad", "not in the catalogue"} {
			if !strings.Contains(report, want) {
				t.Errorf("report refused lacks %q:\n%s", want, report)
			}
		}
		if got := metric(t, l.URL, "tollgate_ledger_dead_letters"); got < 2 {
			t.Errorf("got %v open dead letters in /metrics, want at least 2", got)
		}
		if !strings.Contains(l.Log(), "dead-letter") || !strings.Contains(l.Log(), `"level":"warn"`) {
			t.Errorf("ledger log has no warning of the refusals")
		}

		// Nothing changed, nothing taken: a retry refuses again and keeps them.
		if out := l.CLI("dead-letter", "retry", "--team", "studio"); strings.Contains(out, "accepted") {
			t.Errorf("retry before the fix: got %s, want every event still refused", out)
		}
		if got := l.Charges("studio"); len(got) != 0 {
			t.Errorf("got charges %v before the fix, want none", got)
		}

		// The fixes: the product is added; the ledger's time reaches the charge's.
		l.CLI("product", "add", "autocad", "--rate", "7", "--name", "AutoCAD")
		s.at(t, 3*time.Hour)
		out := l.CLI("dead-letter", "retry", "--team", "studio")
		if strings.Contains(out, "refused") || !strings.Contains(out, "accepted") {
			t.Errorf("retry after the fix: got\n%s\nwant every event accepted", out)
		}
		if got, want := l.Charges("studio"), []string{key("revit", day1.Add(2*time.Hour), 10)}; !slices.Equal(got, want) {
			t.Errorf("after the retry: got charges %v, want %v", got, want)
		}
		if out := l.CLI("dead-letter", "retry", "--team", "studio"); !strings.Contains(out, "no refused events") {
			t.Errorf("a second retry: got %s, want nothing to send", out)
		}
		if got := l.Charges("studio"); len(got) != 1 {
			t.Errorf("after a second retry: got charges %v, want the one", got)
		}
		if report := l.CLI("report", "refused", "--team", "studio"); !strings.Contains(report, "no refused events") {
			t.Errorf("report refused after the retry:\n%s\nwant none open", report)
		}
		if got := metric(t, l.URL, "tollgate_ledger_dead_letters"); got != 0 {
			t.Errorf("got %v open dead letters after the retry, want 0", got)
		}
	})
}
