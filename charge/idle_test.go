package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

func TestIdlePlan(t *testing.T) {
	renew := monday.Add(charge.Day) // Tuesday 08:00
	idleSince := func(d time.Duration) charge.IdleFacts {
		return charge.IdleFacts{Reported: renew.Add(-time.Minute), LastInput: renew.Add(-d), LastBusy: monday}
	}
	closeP := charge.Policy{RenewalWhenIdle: charge.IdleClose}
	tests := []struct {
		name   string
		f      charge.IdleFacts
		now    time.Time
		warned bool
		p      charge.Policy
		want   charge.IdleStep
	}{
		{"renew policy, idle 3h: renew", idleSince(3 * time.Hour), renew, true, charge.Policy{}, charge.StepRenew},
		{"renew policy, before the notice: wait", idleSince(3 * time.Hour), renew.Add(-time.Hour), false, charge.Policy{}, charge.StepWait},
		{"close, an hour before: wait", idleSince(3 * time.Hour), renew.Add(-time.Hour), false, closeP, charge.StepWait},
		{"close, 15 min before, idle: warn", idleSince(3 * time.Hour), renew.Add(-charge.RenewalNotice), false, closeP, charge.StepWarn},
		{"close, 15 min before, warned already: wait", idleSince(3 * time.Hour), renew.Add(-charge.RenewalNotice), true, closeP, charge.StepWait},
		{"close, idle 2h exactly at the renewal: warn", idleSince(2 * time.Hour), renew.Add(-time.Minute), false, closeP, charge.StepWarn},
		{"close, idle 2h at the renewal less a minute: no warning", idleSince(2*time.Hour - time.Minute), renew.Add(-time.Minute), false, closeP, charge.StepWait},
		{"close, at the renewal, warned, idle: close", idleSince(3 * time.Hour), renew, true, closeP, charge.StepClose},
		{"close, at the renewal, never warned: renew", idleSince(3 * time.Hour), renew, false, closeP, charge.StepRenew},
		{"close, at the renewal, input a minute ago: renew", idleSince(time.Minute), renew, true, closeP, charge.StepRenew},
		{"close, no notifier ever: renew", charge.IdleFacts{LastBusy: monday}, renew, true, closeP, charge.StepRenew},
		{"close, notifier silent 10 min: renew", charge.IdleFacts{Reported: renew.Add(-10 * time.Minute), LastInput: monday, LastBusy: monday},
			renew, true, closeP, charge.StepRenew},
		{"close, CPU busy an hour ago: renew", charge.IdleFacts{Reported: renew, LastInput: monday, LastBusy: renew.Add(-time.Hour)},
			renew, true, closeP, charge.StepRenew},
		{"close, idle_after 30m, idle 40m: close", idleSince(40 * time.Minute), renew, true,
			charge.Policy{RenewalWhenIdle: charge.IdleClose, IdleAfter: 30 * time.Minute}, charge.StepClose},
	}
	for _, tt := range tests {
		if got := charge.IdlePlan(tt.f, tt.now, renew, tt.warned, tt.p); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

// notifier moves time to until a minute at a time, reporting mary's input idleness each
// minute as her notifier does: her last input was at last (or now, if later).
func (w *world) notifier(until, last time.Time) {
	for w.wall.Before(until) {
		w.pass(min(time.Minute, until.Sub(w.wall)))
		w.apply(w.m.Input(w.reading(), "mary", max(0, w.wall.Sub(last)), w))
	}
}

func (w *world) find(k charge.Kind, at time.Time) (charge.Effect, bool) {
	for _, f := range w.effs {
		if f.Kind == k && f.At.Equal(at) {
			return f, true
		}
	}
	return charge.Effect{}, false
}

// TestIdleRenewal is the worked cases of docs/charging.md, rule 4 with renewal_when_idle:
// Revit opened Monday 08:00, charged at 08:05 for [Mon 08:00, Tue 08:00), its user gone home
// at 18:00.
func TestIdleRenewal(t *testing.T) {
	tue := monday.Add(charge.Day)
	home := monday.Add(10 * time.Hour)
	closeP := charge.Policy{RenewalWhenIdle: charge.IdleClose}
	tests := []struct {
		name     string
		p        charge.Policy
		script   func(w *world)
		spent    int64
		reason   charge.Reason // of the renewal charged, if any
		warned   bool          // told at 07:45 that it will be closed
		closedAt time.Time     // asked to close for idleness
		saved    int64
	}{
		{"renew (default): idle overnight, renewed and reported idle", charge.Policy{}, func(w *world) {
			w.notifier(tue.Add(time.Minute), home)
		}, 20, charge.Idle, false, time.Time{}, 0},
		{"close: idle overnight, closed at 08:00, not charged", closeP, func(w *world) {
			w.notifier(tue.Add(20*time.Second), home)
			w.close("1")
			w.notifier(tue.Add(2*time.Minute), home)
		}, 10, "", true, tue, 10},
		{"close: touched at 07:50 after the warning, renewed", closeP, func(w *world) {
			w.notifier(tue.Add(-10*time.Minute), home)
			w.notifier(tue.Add(time.Minute), tue.Add(-10*time.Minute))
		}, 20, "", true, time.Time{}, 0},
		{"close: no notifier, renewed as in use", closeP, func(w *world) {
			w.pass(charge.Day)
		}, 20, "", false, time.Time{}, 0},
		{"close: notifier stopped at 07:50, renewed as in use", closeP, func(w *world) {
			w.notifier(tue.Add(-10*time.Minute), home)
			w.pass(11 * time.Minute)
		}, 20, "", true, time.Time{}, 0},
		{"close: rendering (CPU) at 07:00, renewed", closeP, func(w *world) {
			w.notifier(tue.Add(-time.Hour), home)
			w.apply(w.m.Busy(w.reading(), "mary", "revit", w))
			w.notifier(tue.Add(time.Minute), home)
		}, 20, "", false, time.Time{}, 0},
		{"close: stays open at its save prompt, renewed at 08:00 and told why", closeP, func(w *world) {
			w.notifier(tue.Add(2*time.Minute), home)
		}, 20, charge.StayedOpen, true, tue, 0},
		{"close: reopened while closing, renewed", closeP, func(w *world) {
			w.notifier(tue.Add(10*time.Second), home)
			w.open("2", "revit")
			w.notifier(tue.Add(2*time.Minute), tue.Add(10*time.Second))
		}, 20, "", true, tue, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 200, tt.p)
			w.open("1", "revit")
			w.pass(5 * time.Minute)
			tt.script(w)
			if got := w.spent(); got != tt.spent {
				t.Errorf("got %d tokens spent, want %d", got, tt.spent)
			}
			renewal, renewed := w.charge[charge.Key{Team: "studio", User: "mary", Product: "revit", Start: tue}]
			if renewed {
				for _, f := range w.effs {
					if f.Kind == charge.Charged && f.Renewal && f.Reason != tt.reason {
						t.Errorf("got the renewal (%d tokens) flagged %q, want %q", renewal, f.Reason, tt.reason)
					}
				}
			}
			f, ok := w.find(charge.Renewing, tue.Add(-charge.RenewalNotice))
			if got := ok && f.Reason == charge.Idle; got != tt.warned {
				t.Errorf("got warned of an idle close %v (%+v), want %v", got, f, tt.warned)
			}
			if tt.warned && !f.IdleSince.Equal(home) {
				t.Errorf("got idle since %v, want %v", f.IdleSince, home)
			}
			c, closed := w.find(charge.Close, tue)
			if closed != !tt.closedAt.IsZero() || closed && (c.Reason != charge.Idle || c.Tokens != 10 || len(c.Procs) != 1) {
				t.Errorf("got close %v %+v, want at %v, idle, 10 tokens, one process", closed, c, tt.closedAt)
			}
			var saved int64
			for _, f := range w.effs {
				if f.Kind == charge.Saved {
					saved += f.Tokens
					if f.Key.Start != tue {
						t.Errorf("got saved key %v, want the window that was not opened, from %v", f.Key, tue)
					}
				}
			}
			if saved != tt.saved {
				t.Errorf("got %d tokens saved, want %d", saved, tt.saved)
			}
		})
	}
}

// TestIdleStateSurvivesRestart: the announced close and the reports are in the saved
// state, so an agent restarted between the warning and the renewal still closes.
func TestIdleStateSurvivesRestart(t *testing.T) {
	tue := monday.Add(charge.Day)
	home := monday.Add(10 * time.Hour)
	w := newWorld(t, 200, charge.Policy{RenewalWhenIdle: charge.IdleClose})
	w.open("1", "revit")
	w.pass(5 * time.Minute)
	w.notifier(tue.Add(-5*time.Minute), home)
	w.m = charge.Restore(w.m.Save())
	w.notifier(tue.Add(30*time.Second), home)
	if _, ok := w.find(charge.Close, tue); !ok {
		t.Errorf("got no idle close at %v after a restore, want one", tue)
	}
}

// TestNightlyClose: with nightly_close at 02:00, Revit left idle at 18:00 is announced at
// 01:45 and closed at 02:00, saving Tuesday 08:00's renewal; one that stays open runs on in
// its window and renews at 08:00; one touched at 01:50 is not closed.
func TestNightlyClose(t *testing.T) {
	tue := monday.Add(charge.Day)
	two := monday.Add(18 * time.Hour) // Tuesday 02:00
	home := monday.Add(10 * time.Hour)
	tests := []struct {
		name   string
		last   time.Time // the last input before 02:00
		quits  bool      // the product quits when asked
		spent  int64
		saved  int64
		closed bool
	}{
		{"idle: closed at 02:00", home, true, 10, 10, true},
		{"stays open: renewed at 08:00 as always", home, false, 20, 0, true},
		{"touched at 01:50: not closed", two.Add(-10 * time.Minute), false, 20, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 200, charge.Policy{})
			w.open("1", "revit")
			w.pass(5 * time.Minute)
			last := func(at time.Time) time.Time {
				if tt.last.After(at) {
					return home
				}
				return tt.last
			}
			for _, at := range []time.Time{two.Add(-charge.RenewalNotice), two} {
				for w.wall.Before(at) { // the notifier, reporting each minute
					w.pass(min(time.Minute, at.Sub(w.wall)))
					w.apply(w.m.Input(w.reading(), "mary", w.wall.Sub(last(w.wall)), w))
				}
				w.apply(w.m.Nightly(w.reading(), two, w)) // the agent, as its clock passes each instant
			}
			if tt.quits {
				w.pass(20 * time.Second)
				w.close("1")
			}
			w.notifier(tue.Add(time.Minute), tt.last)
			if got := w.spent(); got != tt.spent {
				t.Errorf("got %d tokens spent, want %d", got, tt.spent)
			}
			_, closed := w.find(charge.Close, two)
			if closed != tt.closed {
				t.Errorf("got closed at 02:00 %v, want %v", closed, tt.closed)
			}
			var saved int64
			for _, f := range w.effs {
				if f.Kind == charge.Saved {
					saved += f.Tokens
					if !f.Key.Start.Equal(tue) {
						t.Errorf("got saved window %v, want the renewal at %v", f.Key.Start, tue)
					}
				}
			}
			if saved != tt.saved {
				t.Errorf("got %d saved, want %d", saved, tt.saved)
			}
		})
	}
}

// TestInputCallsOffClose: a user told that an idle product will be closed (at its renewal,
// or at the nightly close) who uses it again is told, once, that it stays open and when it
// renews; it is then not closed. Input before any warning tells nothing.
func TestInputCallsOffClose(t *testing.T) {
	tue := monday.Add(charge.Day)     // the renewal, Tuesday 08:00
	two := monday.Add(18 * time.Hour) // the nightly close, Tuesday 02:00
	home := monday.Add(10 * time.Hour)
	tests := []struct {
		name     string
		p        charge.Policy
		nightly  bool
		back     time.Time // her input after going home; zero: none
		wantTold bool      // told it stays open, at back
	}{
		{"renewal: back at 07:50, after the warning", charge.Policy{RenewalWhenIdle: charge.IdleClose}, false, tue.Add(-10 * time.Minute), true},
		{"renewal: back at 07:30, before the warning", charge.Policy{RenewalWhenIdle: charge.IdleClose}, false, tue.Add(-30 * time.Minute), false},
		{"renewal: not back", charge.Policy{RenewalWhenIdle: charge.IdleClose}, false, time.Time{}, false},
		{"night: back at 01:50, after the warning", charge.Policy{}, true, two.Add(-10 * time.Minute), true},
		{"night: back at 01:30, before the warning", charge.Policy{}, true, two.Add(-30 * time.Minute), false},
		{"night: not back", charge.Policy{}, true, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 200, tt.p)
			w.open("1", "revit")
			w.pass(5 * time.Minute)
			last := func() time.Time {
				if !tt.back.IsZero() && !w.wall.Before(tt.back) {
					return tt.back
				}
				return home
			}
			end := tue.Add(time.Minute)
			if tt.nightly {
				end = two.Add(time.Minute)
			}
			for w.wall.Before(end) { // the notifier each minute; the agent at each nightly instant
				w.pass(time.Minute)
				w.apply(w.m.Input(w.reading(), "mary", w.wall.Sub(last()), w))
				if tt.nightly && (w.wall.Equal(two.Add(-charge.RenewalNotice)) || w.wall.Equal(two)) {
					w.apply(w.m.Nightly(w.reading(), two, w))
				}
			}
			var told []charge.Effect
			for _, f := range w.effs {
				if f.Kind == charge.Renewing && f.Reason == charge.InUse {
					told = append(told, f)
				}
			}
			switch {
			case !tt.wantTold && len(told) != 0:
				t.Errorf("got told it stays open %+v, want nothing", told)
			case tt.wantTold && (len(told) != 1 || !told[0].At.Equal(tt.back) || !told[0].Until.Equal(tue) || told[0].Tokens != 10):
				t.Errorf("got told %+v, want once at %v: renews at %v for 10 tokens", told, tt.back, tue)
			}
			_, closed := w.find(charge.Close, end.Add(-time.Minute))
			if want := tt.back.IsZero(); closed != want {
				t.Errorf("got asked to close %v, want %v", closed, want)
			}
		})
	}
}
