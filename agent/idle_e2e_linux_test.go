//go:build linux

package agent_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

// The idle rule end to end: the real agent, a real product process, and the user's
// input idleness reported over the local API as the notifier reports it, on the rig's
// clock. Revit opens Monday 08:00 and is charged at 08:05 for [Mon 08:00, Tue 08:00); its
// user went home at 18:00.

var (
	tue08 = day1.Add(charge.Day)
	home  = day1.Add(10 * time.Hour)
)

// idleRig is a workstation whose policy closes idle products at their renewal.
func idleRig(t *testing.T) *agenttest.Rig {
	r := newRig(t, 100)
	cfg, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, strings.Replace(string(cfg), "policy:\n", "policy:\n  renewal_when_idle: close\n  idle_after: 2h\n", 1))
	return r
}

// report moves the clock to at and reports, as root's notifier would, that root's session
// has had no input since last.
func report(t *testing.T, r *agenttest.Rig, at, last time.Time) {
	t.Helper()
	r.SetClock(at)
	r.Settled(nil)
	if err := reportIdle(r.Client, at.Sub(last)); err != nil {
		t.Fatalf("report idle: %v", err)
	}
}

// reportIdle reports as the notifier does, waiting out the agent's limit of one report
// every 2 seconds as the notifier's next tick would.
func reportIdle(c *localapi.Client, idle time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := c.ReportIdle(ctx, idle)
		var ae *localapi.Error
		if !errors.As(err, &ae) || ae.Code != "too_many_reports" {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// paidUntilTuesday opens Revit (env for its process) and waits for its first charge.
func paidUntilTuesday(t *testing.T, r *agenttest.Rig, env ...string) {
	r.Start()
	r.Launch("bin/revit", env...)
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	r.SetClock(day1.Add(5 * time.Minute))
	r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid"
	})
}

// warnedAt0745 reports idleness up to the warning and checks the user was told.
func warnedAt0745(t *testing.T, r *agenttest.Rig) {
	t.Helper()
	report(t, r, tue08.Add(-16*time.Minute), home)
	r.SetClock(tue08.Add(-14 * time.Minute))
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_closing"); return ok })
	m, _ := agenttest.MessageOf(st, "idle_closing")
	at := tue08.Local().Format("Mon 15:04")
	want := "Autodesk Revit has been idle 13 hours; it will be closed at " + at + " to save 10 tokens: touch it to keep it."
	if m.Title != "Autodesk Revit will be closed at "+at || m.Body != want {
		t.Errorf("got %q: %q, want the warning %q", m.Title, m.Body, want)
	}
}

// renewals is the journal's renewal charges of a stopped agent.
func renewals(r *agenttest.Rig) []charge.Effect {
	var out []charge.Effect
	for _, f := range r.Charges() {
		if f.Renewal {
			out = append(out, f)
		}
	}
	return out
}

func TestIdleProductClosedAtRenewalNotCharged(t *testing.T) {
	r := idleRig(t)
	paidUntilTuesday(t, r)
	warnedAt0745(t, r)
	report(t, r, tue08.Add(-time.Minute), home)
	r.SetClock(tue08.Add(5 * time.Second))
	// Asked to close at 08:00, the product quits (SIGTERM); the session ends once its
	// 10 s merge gap has passed.
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_close"); return ok })
	r.WaitFor("the product to quit", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && !s.Running })
	r.SetClock(tue08.Add(time.Minute))
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return !ok })
	m, ok := agenttest.MessageOf(st, "idle_saved")
	if !ok || m.Title != "Autodesk Revit closed: 10 tokens saved" {
		t.Errorf("got %+v, want the user told 10 tokens were saved", m)
	}
	if got := *st.Available; got != 90 {
		t.Errorf("got %d tokens available, want 90: only Monday's window charged", got)
	}
	r.Stop()
	if got := renewals(r); len(got) != 0 {
		t.Errorf("got renewals %+v, want none", got)
	}
	var saved []charge.Effect
	for _, e := range r.Entries() {
		if e.Effect.Kind == charge.Saved {
			saved = append(saved, e.Effect)
		}
	}
	if len(saved) != 1 || saved[0].Tokens != 10 || !saved[0].Key.Start.Equal(tue08) {
		t.Errorf("got saved entries %+v, want one of 10 tokens for the window from %v", saved, tue08)
	}
}

func TestIdleProductTouchedIsRenewed(t *testing.T) {
	r := idleRig(t)
	paidUntilTuesday(t, r)
	warnedAt0745(t, r)
	report(t, r, tue08.Add(-time.Minute), tue08.Add(-2*time.Minute)) // back at the desk at 07:58
	// The warning is withdrawn: she is told the product stays open and renews as usual.
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "renewing"); return ok })
	at := tue08.Local().Format("Mon 15:04")
	want := "You are using Autodesk Revit again, so it will not be closed. If it is still open at " + at + ", another 10 tokens are charged for the next 24 hours."
	if m, _ := agenttest.MessageOf(st, "renewing"); m.Title != "Autodesk Revit stays open" || m.Body != want {
		t.Errorf("got %q: %q, want the user told after her input %q", m.Title, m.Body, want)
	}
	r.SetClock(tue08.Add(5 * time.Second))
	st = r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid" && s.Until.Equal(tue08.Add(charge.Day))
	})
	if _, ok := agenttest.MessageOf(st, "idle_close"); ok {
		t.Errorf("got an idle close, want none after input")
	}
	r.Stop()
	if got := renewals(r); len(got) != 1 || got[0].Reason != "" || !got[0].Key.Start.Equal(tue08) {
		t.Errorf("got renewals %+v, want one from %v, not flagged idle", got, tue08)
	}
}

func TestIdleProductThatStaysOpenIsRenewedAndTold(t *testing.T) {
	r := idleRig(t)
	paidUntilTuesday(t, r, "TOLLGATE_IGNORE_TERM=1")
	warnedAt0745(t, r)
	report(t, r, tue08.Add(-time.Minute), home)
	r.SetClock(tue08.Add(5 * time.Second))
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_close"); return ok })
	r.SetClock(tue08.Add(charge.IdleCloseWait + 5*time.Second))
	st := r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid" && s.Running && s.Until.Equal(tue08.Add(charge.Day))
	})
	var told bool
	for _, m := range st.Messages {
		told = told || m.Kind == "charged" && strings.Contains(m.Body, "it stayed open (it may be asking whether to save changes), so it was renewed")
	}
	if !told {
		t.Errorf("got messages %+v, want the user told why it was renewed", st.Messages)
	}
	r.Stop()
	if got := renewals(r); len(got) != 1 || got[0].Reason != charge.StayedOpen || !got[0].Key.Start.Equal(tue08) {
		t.Errorf("got renewals %+v, want one from %v flagged stayed_open", got, tue08)
	}
}

// TestIdleReportOnlyForOwnSession: the report is about the caller, as the OS says; naming
// another user is refused, for an administrator too.
func TestIdleReportOnlyForOwnSession(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	r.Settled(nil)
	ctx := context.Background()
	for _, q := range []string{"idle=1h&user=mary@studio.example", "idle=soon", "idle=-5m"} {
		st, body := rawPost(t, r.Sock, "/v0/idle?"+q)
		if st == 200 {
			t.Errorf("POST /v0/idle?%s: got 200 %s, want refused", q, body)
		}
	}
	if err := r.Client.ReportIdle(ctx, time.Hour); err != nil {
		t.Errorf("own report: got %v, want recorded", err)
	}
	// A flood is not journaled: the second report within 2 s is refused, with when to retry.
	var ae *localapi.Error
	if err := r.Client.ReportIdle(ctx, time.Hour); !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
		t.Errorf("second report at once: got %v, want 429 too_many_reports", err)
	}
}

func rawPost(t *testing.T, sock, path string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{Dial: func(_, _ string) (net.Conn, error) { return net.Dial("unix", sock) }}}
	resp, err := hc.Post("http://tollgate"+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// nightlyRig is a workstation whose policy closes idle products at 02:00, in UTC.
func nightlyRig(t *testing.T) *agenttest.Rig {
	r := newRig(t, 100)
	cfg, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, strings.Replace(string(cfg), "policy:\n", "policy:\n  nightly_close: \"02:00\"\n", 1))
	t.Setenv("TZ", "UTC") // the workstation's time zone, which nightly_close is in
	return r
}

// TestNightlyCloseClosesIdleProduct: with nightly_close "02:00", Revit left idle at 18:00
// is announced at 01:45 and closed at 02:00 (the workstation's time), and Tuesday's
// renewal is saved.
func TestNightlyCloseClosesIdleProduct(t *testing.T) {
	r := nightlyRig(t)
	paidUntilTuesday(t, r)
	night := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)
	report(t, r, night.Add(-16*time.Minute), home)
	r.SetClock(night.Add(-14 * time.Minute))
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_closing"); return ok })
	if m, _ := agenttest.MessageOf(st, "idle_closing"); m.Title != "Autodesk Revit will be closed at Tue 02:00" {
		t.Errorf("got %q, want the nightly close announced", m.Title)
	}
	report(t, r, night.Add(-time.Minute), home)
	r.SetClock(night.Add(5 * time.Second))
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_close"); return ok })
	r.WaitFor("the product to quit", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && !s.Running })
	r.SetClock(night.Add(time.Minute))
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return !ok })
	r.SetClock(tue08.Add(time.Hour))
	st = r.Settled(nil)
	if got := *st.Available; got != 90 {
		t.Errorf("got %d available, want 90: Tuesday's renewal saved", got)
	}
}

// TestNightlyCloseCalledOffByInput: announced at 01:45, the nightly close is called off by
// input at 01:50; the user is told the product stays open, it is not closed at 02:00, and
// it renews at 08:00.
func TestNightlyCloseCalledOffByInput(t *testing.T) {
	r := nightlyRig(t)
	paidUntilTuesday(t, r)
	night := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)
	report(t, r, night.Add(-16*time.Minute), home)
	r.SetClock(night.Add(-14 * time.Minute))
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_closing"); return ok })
	report(t, r, night.Add(-10*time.Minute), night.Add(-10*time.Minute)) // back at the desk at 01:50
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "renewing"); return ok })
	want := "You are using Autodesk Revit again, so it will not be closed. If it is still open at Tue 08:00, another 10 tokens are charged for the next 24 hours."
	if m, _ := agenttest.MessageOf(st, "renewing"); m.Title != "Autodesk Revit stays open" || m.Body != want {
		t.Errorf("got %q: %q, want %q", m.Title, m.Body, want)
	}
	report(t, r, night.Add(-time.Minute), night.Add(-10*time.Minute))
	r.SetClock(night.Add(5 * time.Second))
	if st := r.Settled(nil); func() bool { _, ok := agenttest.MessageOf(st, "idle_close"); return ok }() {
		t.Errorf("got an idle close at 02:00, want none after input")
	}
	r.SetClock(tue08.Add(5 * time.Second))
	st = r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid" && s.Until.Equal(tue08.Add(charge.Day))
	})
	if _, ok := agenttest.MessageOf(st, "idle_close"); ok {
		t.Errorf("got an idle close, want none after input")
	}
	if s, _ := agenttest.SessionOf(st, "revit"); !s.Running {
		t.Errorf("got Revit not running, want it left open")
	}
}

// TestBusyProductIsRenewed: Revit rendering overnight (a fifth of a CPU) with nobody at the
// keyboard is not idle: no warning, renewed at 08:00.
func TestBusyProductIsRenewed(t *testing.T) {
	r := newRig(t, 100, func(o *agenttest.Options) { o.Args = append(o.Args, "--cpu-every=200ms") })
	cfg, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, r.Config, strings.Replace(string(cfg), "policy:\n", "policy:\n  renewal_when_idle: close\n", 1))
	paidUntilTuesday(t, r, "TOLLGATE_SPIN=1")
	time.Sleep(time.Second) // a few CPU samples, each showing it at work
	report(t, r, tue08.Add(-16*time.Minute), home)
	time.Sleep(time.Second)
	r.SetClock(tue08.Add(-14 * time.Minute))
	st := r.Settled(nil)
	if m, ok := agenttest.MessageOf(st, "idle_closing"); ok {
		t.Errorf("got %q, want no idle warning for a product at work", m.Title)
	}
	report(t, r, tue08.Add(-time.Minute), home)
	r.SetClock(tue08.Add(5 * time.Second))
	r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.Running && s.Until.Equal(tue08.Add(charge.Day))
	})
	r.Stop()
	if got := renewals(r); len(got) != 1 || got[0].Reason != "" {
		t.Errorf("got renewals %+v, want one, not flagged idle", got)
	}
}

// TestIdleCloseSurvivesKill: the agent killed (-9) between the warning and the renewal
// replays its journal, warning and reports included, and still closes at 08:00.
func TestIdleCloseSurvivesKill(t *testing.T) {
	r := idleRig(t)
	paidUntilTuesday(t, r)
	warnedAt0745(t, r)
	r.Kill()
	r.Start()
	report(t, r, tue08.Add(-time.Minute), home)
	r.SetClock(tue08.Add(5 * time.Second))
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_close"); return ok })
	r.WaitFor("the product to quit", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return !ok || !s.Running })
	r.SetClock(tue08.Add(time.Minute))
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return !ok })
	r.Stop()
	if got := renewals(r); len(got) != 0 {
		t.Errorf("got renewals %+v, want none", got)
	}
}
