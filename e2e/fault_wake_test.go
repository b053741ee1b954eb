//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// setClockMono moves a clock file to wall with an explicit monotonic reading: a wall
// clock that runs on while the monotonic one stands still is a machine asleep.
func setClockMono(t *testing.T, c *agenttest.Clock, wall time.Time, mono time.Duration) {
	t.Helper()
	c.Now = wall
	agenttest.Write(t, c.Path, fmt.Sprintf("%s %s", wall.Format(time.RFC3339Nano), mono))
}

// withPolicy adds lines to the policy section of a rig's config before it starts.
func withPolicy(t *testing.T, r *agenttest.Rig, lines string) {
	t.Helper()
	data, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, strings.Replace(string(data), "policy:\n", "policy:\n"+lines, 1))
}

// TestWakeAfterLongSleepAsksTheLedger: a laptop sleeps longer than offline_max_age with
// Revit open. At wake the ledger is reachable, so Revit is decided from what the ledger
// says now, not from the snapshot taken before the sleep: it stays open, in a new grace.
func TestWakeAfterLongSleepAsksTheLedger(t *testing.T) {
	day1 := agenttest.Day1
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // the clock file's monotonic origin
	s := newSystem(t, "sqlite", 100)
	r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock})
	withPolicy(t, r, "  offline_max_age: 1h\n")
	r.Start()
	p := r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		return ok && ss.State == "grace"
	})
	asleep := day1.Add(2 * time.Minute)
	mono := asleep.Sub(epoch)
	setClockMono(t, s.clock, asleep, mono)
	r.Settled(nil)

	woke := day1.Add(3 * time.Hour) // asleep for longer than the offline allowance
	setClockMono(t, s.clock, woke, mono)
	st := r.Settled(func(st localapi.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		_, denied := agenttest.MessageOf(st, "denied")
		return ok && ss.Running && ss.Start.Equal(woke) || denied
	})
	if m, denied := agenttest.MessageOf(st, "denied"); denied {
		t.Fatalf("got Revit denied at wake (%s: %s), want it decided by the reachable ledger and kept open", m.Title, m.Body)
	}
	if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "grace" {
		t.Errorf("got Revit %s at wake, want a new grace", ss.State)
	}
	time.Sleep(500 * time.Millisecond) // a close, were one under way, would be done by now
	if err := p.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("got Revit closed at wake (%v), want it running", err)
	}
	setClockMono(t, s.clock, woke.Add(5*time.Minute), mono+5*time.Minute)
	r.Settled(func(st localapi.Status) bool {
		ss, ok := agenttest.SessionOf(st, "revit")
		return ok && ss.State == "paid"
	})
}

// hanging passes requests to the ledger, or, while hang is set, holds snapshot requests
// until the caller gives up: a ledger too slow to answer at wake.
type hanging struct {
	URL   string
	hang  atomic.Bool
	proxy *httputil.ReverseProxy
}

func newHanging(t *testing.T, ledgerURL string) *hanging {
	u, err := url.Parse(ledgerURL)
	if err != nil {
		t.Fatal(err)
	}
	h := &hanging{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

func (h *hanging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.hang.Load() && strings.Contains(r.URL.Path, "entitlement") {
		<-r.Context().Done()
		return
	}
	h.proxy.ServeHTTP(w, r)
}

// TestStoppedWhileWaking: the agent is killed at wake while it waits for the ledger,
// between journaling the sleep and deciding the products still open. When it comes back,
// a product closed meanwhile is not decided (nor charged), and one still open is decided
// with the ledger's answer and kept open.
func TestStoppedWhileWaking(t *testing.T) {
	day1 := agenttest.Day1
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, closed := range []bool{true, false} {
		t.Run(fmt.Sprintf("closed while down %v", closed), func(t *testing.T) {
			s := newSystem(t, "sqlite", 100)
			proxy := newHanging(t, s.ledger.URL)
			r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: proxy.URL, EnrollToken: s.enroll, Clock: s.clock})
			withPolicy(t, r, "  offline_max_age: 1h\n")
			r.Start()
			p := r.Launch("bin/revit")
			r.Settled(func(st localapi.Status) bool {
				ss, ok := agenttest.SessionOf(st, "revit")
				return ok && ss.State == "grace"
			})
			asleep := day1.Add(2 * time.Minute)
			mono := asleep.Sub(epoch)
			setClockMono(t, s.clock, asleep, mono)
			r.Settled(nil)

			proxy.hang.Store(true)
			woke := day1.Add(3 * time.Hour)
			setClockMono(t, s.clock, woke, mono)
			r.WaitFor("the sleep journaled", func(st localapi.Status) bool { return len(st.Sessions) == 0 })
			r.Kill()
			proxy.hang.Store(false)
			if closed {
				r.Quit(p)
			}
			r.Start()
			if closed {
				r.WaitFor("the agent at "+woke.Format(time.RFC3339), func(st localapi.Status) bool { return st.Now.Equal(woke) })
				setClockMono(t, s.clock, woke.Add(10*time.Minute), mono+10*time.Minute)
				st := r.Settled(nil)
				if len(st.Sessions) != 0 || *st.Available != 100 {
					t.Errorf("got sessions %+v and %d tokens available, want none and 100: Revit closed while the agent was down", st.Sessions, *st.Available)
				}
				r.Stop()
				if got := r.Charges(); len(got) != 0 {
					t.Errorf("got charges %+v, want none", got)
				}
				return
			}
			st := r.Settled(func(st localapi.Status) bool {
				ss, ok := agenttest.SessionOf(st, "revit")
				_, denied := agenttest.MessageOf(st, "denied")
				return ok && ss.Running || denied
			})
			if m, denied := agenttest.MessageOf(st, "denied"); denied {
				t.Fatalf("got Revit denied after the restart (%s: %s), want it decided by the ledger and kept open", m.Title, m.Body)
			}
			if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "grace" || !ss.Start.Equal(woke) {
				t.Errorf("got session %+v, want a grace begun at the wake, %s", ss, woke.Format(time.RFC3339))
			}
		})
	}
}
