package sim_test

import (
	"slices"
	"testing"
	"time"
)

// The oracle: which windows one (user, product) pays for on ONE device, worked out from
// charging.md by walking its sessions, independently of charge.Meter, so that the
// property test can hold the simulator to the rules rather than to itself. It knows only
// what one online device with enough tokens sees: processes, subscriptions, sleep and the
// rates. Wall clocks moved backwards are not an input at all (rule 9: they change
// nothing). Where charging.md is silent it takes docs/rules.md's choices: sleep ends
// sessions and wake starts new ones; a charge clears the uncharged use that led to it; a
// session's footing (subscription, window, grace) is decided at its start, when its
// window ends, when its subscription ends and when its grace would commit, so a
// subscription that starts during grace stops the charge.

// The spans charging.md names, restated here on purpose rather than taken from charge.
const (
	oracleGrace    = 5 * time.Minute  // rule 3
	oracleDay      = 24 * time.Hour   // a window
	oracleMergeGap = 10 * time.Second // "a gap shorter than 10 s ... does not end it"
)

// span is [from, to); a zero to never ends (an open-ended subscription).
type span struct{ from, to time.Time }

func (s span) covers(t time.Time) bool {
	return !t.Before(s.from) && (s.to.IsZero() || t.Before(s.to))
}

// overlap is how much of s falls in [from, to).
func (s span) overlap(from, to time.Time) time.Duration {
	a, b := s.from, s.to
	if a.Before(from) {
		a = from
	}
	if b.After(to) {
		b = to
	}
	return max(0, b.Sub(a))
}

// paid is a window the oracle says (user, product) pays for.
type paid struct {
	start   time.Time
	tokens  int64
	renewal bool
}

// awake cuts the time the device slept out of the processes' spans: sleep is not use.
func awake(procs, sleeps []span) []span {
	var out []span
	for _, p := range procs {
		parts := []span{p}
		for _, z := range sleeps {
			var next []span
			for _, q := range parts {
				if a := (span{q.from, minTime(q.to, z.from)}); a.from.Before(a.to) {
					next = append(next, a)
				}
				if b := (span{maxTime(q.from, z.to), q.to}); b.from.Before(b.to) {
					next = append(next, b)
				}
			}
			parts = next
		}
		out = append(out, parts...)
	}
	return out
}

// merge turns processes into sessions: overlapping processes are one session, and one
// that starts less than the merge gap after the previous one exited continues it, unless
// the device went to sleep in between (sleep ends every session).
func merge(procs, sleeps []span) []span {
	ps := awake(procs, sleeps)
	slices.SortStableFunc(ps, func(a, b span) int { return a.from.Compare(b.from) })
	var out []span
	for _, p := range ps {
		if n := len(out); n > 0 && p.from.Sub(out[n-1].to) < oracleMergeGap && !slices.ContainsFunc(sleeps, func(z span) bool {
			return !z.from.Before(out[n-1].to) && !z.from.After(p.from)
		}) {
			if p.to.After(out[n-1].to) {
				out[n-1].to = p.to
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// subscribed reports whether a subscription covers t and, if so, when the subscriptions
// stop covering without a break (zero: never).
func subscribed(subs []span, t time.Time) (until time.Time, ok bool) {
	for {
		i := slices.IndexFunc(subs, func(s span) bool { return s.covers(t) })
		if i < 0 {
			return t, ok
		}
		if subs[i].to.IsZero() {
			return time.Time{}, true
		}
		t, ok = subs[i].to, true
	}
}

// oracle returns the windows charged to one (user, product) whose processes ran over
// procs, holding subscriptions subs, at a daily rate. Ties lists the sessions that end at
// the very instant their window does, which the oracle does not renew (the session is
// not running when the window ends) and the simulator does; see TestEdges.
func oracle(procs, subs, sleeps []span, rate int64) (ws []paid, ties []time.Time) {
	var free []span // uncharged use (time in grace), for the trailing 24 h
	window := func(t time.Time) (end time.Time, ok bool) {
		for _, w := range ws {
			if (span{w.start, w.start.Add(oracleDay)}).covers(t) {
				return w.start.Add(oracleDay), true
			}
		}
		return time.Time{}, false
	}
	trailing := func(at time.Time) time.Duration { // uncharged use in (at-24h, at]
		var d time.Duration
		for _, f := range free {
			d += f.overlap(at.Add(-oracleDay), at)
		}
		return d
	}
	for _, s := range merge(procs, sleeps) {
		t := s.from // the session's state is decided afresh at t
		for t.Before(s.to) {
			if until, ok := subscribed(subs, t); ok { // rule 1
				if until.IsZero() || !until.Before(s.to) {
					break
				}
				t = until // "rule 3 applies from that moment"
				continue
			}
			if end, ok := window(t); ok { // rule 2
				if !end.Before(s.to) {
					if end.Equal(s.to) {
						ties = append(ties, end)
					}
					break // the session is over by the window's end: no renewal
				}
				t = end
				if _, ok := subscribed(subs, t); !ok { // rule 4, unless rule 1 applies then
					ws = append(ws, paid{start: t, tokens: rate, renewal: true})
				}
				continue
			}
			// Rule 3: grace from t. While the session runs its uncharged use grows by at
			// most a second a second (older use may leave the trailing 24 h meanwhile), so
			// it cannot reach 5 minutes sooner than the shortfall; step by that.
			g, charged := t, false
			for c := g; !c.After(s.to); {
				short := oracleGrace - trailing(c) - c.Sub(g)
				if short <= 0 {
					if _, ok := subscribed(subs, c); ok {
						// Rule 1 first: a subscription begun during the grace covers the
						// session from here, and the charge never commits.
						free, t, charged = nil, c, true
						break
					}
					ws = append(ws, paid{start: g, tokens: rate})
					free, t, charged = nil, c, true // what led to the charge is paid for
					break
				}
				c = c.Add(short)
			}
			if !charged {
				free = append(free, span{g, s.to})
				break
			}
		}
	}
	return ws, ties
}

// maxTrailingUse is the most use, merge gaps included, in any trailing 24 h: the bound
// below which rule 3 says nothing is ever charged.
func maxTrailingUse(procs, sleeps []span) time.Duration {
	ss := merge(procs, sleeps)
	var most time.Duration
	for _, s := range ss { // the sum only grows while a session runs, so look at the ends
		var d time.Duration
		for _, o := range ss {
			d += o.overlap(s.to.Add(-oracleDay), s.to)
		}
		most = max(most, d)
	}
	return most
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestOracle holds the oracle to the worked cases of charging.md and to the edges of its
// rules, before the property test trusts it.
func TestOracle(t *testing.T) {
	mon := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return mon.Add(d) }
	h, m, s := time.Hour, time.Minute, time.Second
	tests := []struct {
		name   string
		procs  []span
		subs   []span
		sleeps []span
		want   []time.Duration // window starts, from Monday 00:00
		renew  []bool          // which of them are renewals; nil: none
	}{
		{
			name:  "Revit opened by mistake, closed after 3 minutes: 0 tokens",
			procs: []span{{at(9 * h), at(9*h + 3*m)}},
		},
		{
			name:  "Revit Monday 08:00-09:00, reopened Tuesday 07:00 for 30 minutes: one charge",
			procs: []span{{at(8 * h), at(9 * h)}, {at(31 * h), at(31*h + 30*m)}},
			want:  []time.Duration{8 * h},
		},
		{
			name:  "still open at Tuesday 08:00: a second charge then",
			procs: []span{{at(8 * h), at(9 * h)}, {at(31 * h), at(32*h + 30*m)}},
			want:  []time.Duration{8 * h, 32 * h},
			renew: []bool{false, true},
		},
		{
			name:  "Revit Monday 19:00 to Tuesday 17:00: one charge",
			procs: []span{{at(19 * h), at(41 * h)}},
			want:  []time.Duration{19 * h},
		},
		{
			name:  "Mary's subscription: no tokens",
			procs: []span{{at(9 * h), at(17 * h)}},
			subs:  []span{{at(-300 * h), time.Time{}}},
		},
		{
			name:  "4m59s of use: nothing",
			procs: []span{{at(9 * h), at(9*h + 4*m + 59*s)}},
		},
		{
			name:  "5m0s of use: charged (the charge commits when use reaches 5 minutes)",
			procs: []span{{at(9 * h), at(9*h + 5*m)}},
			want:  []time.Duration{9 * h},
		},
		{
			name:  "grace is cumulative: three sessions of 2 minutes in a day are charged at the third's start",
			procs: []span{{at(9 * h), at(9*h + 2*m)}, {at(12 * h), at(12*h + 2*m)}, {at(15 * h), at(15*h + 2*m)}},
			want:  []time.Duration{15 * h},
		},
		{
			name:  "use more than 24 hours apart does not add up",
			procs: []span{{at(9 * h), at(9*h + 4*m)}, {at(33*h + 1*s), at(33*h + 4*m)}},
		},
		{
			name: "use that leaves the trailing 24 hours while a session runs stops counting",
			// 3 minutes at 09:00 Monday; Tuesday 08:59 for 2 minutes: at 09:01 the trailing
			// 24 h hold 2 minutes of Monday (09:01-09:03) and 2 of Tuesday.
			procs: []span{{at(9 * h), at(9*h + 3*m)}, {at(32*h + 59*m), at(33*h + m)}},
		},
		{
			name:  "a 9-second handover continues the session and counts as use",
			procs: []span{{at(9 * h), at(9*h + 4*m)}, {at(9*h + 4*m + 9*s), at(9*h + 4*m + 60*s)}},
			want:  []time.Duration{9 * h},
		},
		{
			name:  "a 10-second gap ends the session; the use still adds up in the trailing 24 h",
			procs: []span{{at(9 * h), at(9*h + 4*m)}, {at(9*h + 4*m + 10*s), at(9*h + 4*m + 70*s)}},
			want:  []time.Duration{9*h + 4*m + 10*s},
		},
		{
			name:  "a session of exactly 24 hours ends when its window does: no renewal",
			procs: []span{{at(9 * h), at(33 * h)}},
			want:  []time.Duration{9 * h},
		},
		{
			name:  "a session one second past its window renews, where the window ended",
			procs: []span{{at(9 * h), at(33*h + s)}},
			want:  []time.Duration{9 * h, 33 * h},
			renew: []bool{false, true},
		},
		{
			name:  "a gap across the window's end that is bridged within 10 s renews at the end",
			procs: []span{{at(9 * h), at(33*h - 3*s)}, {at(33*h + 4*s), at(34 * h)}},
			want:  []time.Duration{9 * h, 33 * h},
			renew: []bool{false, true},
		},
		{
			name:  "a subscription ending mid-session: grace from that moment",
			procs: []span{{at(9 * h), at(12 * h)}},
			subs:  []span{{at(0), at(10 * h)}},
			want:  []time.Duration{10 * h},
		},
		{
			name:  "a subscription ending 4 minutes before the session does: nothing",
			procs: []span{{at(9 * h), at(10*h + 4*m)}},
			subs:  []span{{at(0), at(10 * h)}},
		},
		{
			name:  "back-to-back subscriptions cover without a break",
			procs: []span{{at(9 * h), at(12 * h)}},
			subs:  []span{{at(0), at(10 * h)}, {at(10 * h), at(11 * h)}},
			want:  []time.Duration{11 * h},
		},
		{
			name:  "a subscription active when a window ends replaces the renewal",
			procs: []span{{at(9 * h), at(40 * h)}},
			subs:  []span{{at(20 * h), at(60 * h)}},
			want:  []time.Duration{9 * h},
		},
		{
			name:  "a window ending under a subscription that then ends: grace from the subscription's end",
			procs: []span{{at(9 * h), at(40 * h)}},
			subs:  []span{{at(20 * h), at(35 * h)}},
			want:  []time.Duration{9 * h, 35 * h},
		},
		{
			name:  "a window covers a later session: no second charge",
			procs: []span{{at(9 * h), at(10 * h)}, {at(20 * h), at(23 * h)}},
			want:  []time.Duration{9 * h},
		},
		{
			name:  "a session starting the instant its window ends starts in grace",
			procs: []span{{at(9 * h), at(10 * h)}, {at(33 * h), at(33*h + 4*m)}},
			want:  []time.Duration{9 * h},
		},
		{
			name:   "sleep is not use: 3 minutes, asleep, 1 minute",
			procs:  []span{{at(9 * h), at(9*h + 10*m)}},
			sleeps: []span{{at(9*h + 3*m), at(9*h + 9*m)}},
		},
		{
			name:   "sleep ends the session, even for 5 seconds: the use before and after adds up",
			procs:  []span{{at(9 * h), at(9*h + 6*m)}},
			sleeps: []span{{at(9*h + 3*m), at(9*h + 3*m + 5*s)}},
			want:   []time.Duration{9*h + 3*m + 5*s},
		},
		{
			name:   "a window ending during sleep is not renewed; after it, the product starts in grace",
			procs:  []span{{at(9 * h), at(40 * h)}},
			sleeps: []span{{at(20 * h), at(39 * h)}},
			want:   []time.Duration{9 * h, 39 * h},
		},
		{
			name:   "waking inside the window and running at its end: renewed",
			procs:  []span{{at(9 * h), at(40 * h)}},
			sleeps: []span{{at(20 * h), at(32 * h)}},
			want:   []time.Duration{9 * h, 33 * h},
			renew:  []bool{false, true},
		},
		{
			name:  "the grace that led to a charge does not count again after the window",
			procs: []span{{at(9 * h), at(10 * h)}, {at(33 * h), at(33*h + 2*m)}},
			want:  []time.Duration{9 * h},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := oracle(tt.procs, tt.subs, tt.sleeps, 10)
			var want []paid
			for i, d := range tt.want {
				p := paid{start: at(d), tokens: 10}
				if tt.renew != nil {
					p.renewal = tt.renew[i]
				}
				want = append(want, p)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got windows %v, want %v", got, want)
			}
		})
	}
}

// TestMaxTrailingUse checks the bound used by the "no charge under 5 minutes" property.
func TestMaxTrailingUse(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	tests := []struct {
		name  string
		procs []span
		want  time.Duration
	}{
		{"one session", []span{{at(0), at(3 * time.Minute)}}, 3 * time.Minute},
		{"two in a day", []span{{at(0), at(3 * time.Minute)}, {at(time.Hour), at(time.Hour + time.Minute)}}, 4 * time.Minute},
		{"a day apart", []span{{at(0), at(3 * time.Minute)}, {at(25 * time.Hour), at(25*time.Hour + time.Minute)}}, 3 * time.Minute},
		{"a handover gap counts", []span{{at(0), at(time.Minute)}, {at(time.Minute + 5*time.Second), at(2 * time.Minute)}}, 2 * time.Minute},
	}
	for _, tt := range tests {
		if got := maxTrailingUse(tt.procs, nil); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
