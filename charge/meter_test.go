package charge_test

import (
	"fmt"
	"testing"
	"time"

	"tollgate/charge"
)

// world is a device and its team's pool, with the meter's effects carried out as the
// simulator and the ledger do: holds held, charges debited.
type world struct {
	t      *testing.T
	m      *charge.Meter
	pool   *charge.Pool
	subs   []charge.Subscription
	start  time.Time
	wall   time.Time     // what the device's wall clock says
	mono   time.Duration // its monotonic clock
	effs   []charge.Effect
	charge map[charge.Key]int64
}

func newWorld(t *testing.T, tokens int64, p charge.Policy) *world {
	w := &world{t: t, m: charge.NewMeter("ws1", p), pool: &charge.Pool{Team: "studio"}, start: monday, wall: monday, charge: map[charge.Key]int64{}}
	if tokens > 0 {
		w.pool.Add(mustPack(t, "p", max(tokens, charge.MinPack), monday.AddDate(0, -1, 0)), monday)
		if tokens < charge.MinPack {
			if _, err := w.pool.Debit(monday, charge.MinPack-tokens, "", false); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.m.Advance(w.reading(), w)
	return w
}

func (w *world) Entitlement(user string) charge.Entitlement {
	return charge.Entitlement{User: user, Team: "studio", Assigned: true, Rates: rates, Available: w.pool.Available(w.wall),
		Subscriptions: w.subs, AsOf: w.wall}
}

func (w *world) reading() charge.Reading { return charge.Reading{Wall: w.wall, Mono: w.mono} }

// pass lets d go by, awake, with the meter told at the end (deadlines fire inside).
func (w *world) pass(d time.Duration) {
	w.wall = w.wall.Add(d)
	w.mono += d
	w.apply(w.m.Advance(w.reading(), w))
}

func (w *world) open(id, product string) charge.Decision {
	d, effs := w.m.Start(w.reading(), charge.Proc{ID: id, User: "mary", Product: product}, w)
	w.apply(effs)
	return d
}

func (w *world) close(id string) { w.apply(w.m.Exit(w.reading(), id, w)) }

func (w *world) apply(effs []charge.Effect) {
	for _, f := range effs {
		switch f.Kind {
		case charge.Held:
			w.pool.Hold(f.HoldID(), f.Tokens)
		case charge.Released:
			w.pool.Release(f.HoldID())
		case charge.Charged:
			if _, dup := w.charge[f.Key]; dup {
				w.t.Errorf("charged twice for %v", f.Key)
			}
			if _, err := w.pool.Debit(f.At, f.Tokens, f.HoldID(), f.Overdraw); err != nil {
				w.t.Errorf("debit %v: %v", f.Key, err)
			}
			w.charge[f.Key] = f.Tokens
		}
	}
	w.effs = append(w.effs, effs...)
}

func (w *world) spent() int64 {
	var n int64
	for _, v := range w.charge {
		n += v
	}
	return n
}

func (w *world) count(k charge.Kind) int {
	n := 0
	for _, f := range w.effs {
		if f.Kind == k {
			n++
		}
	}
	return n
}

func TestGraceBoundary(t *testing.T) {
	tests := []struct {
		use  time.Duration
		want int64
	}{
		{4*time.Minute + 59*time.Second + 999*time.Millisecond, 0},
		{5 * time.Minute, 10},
		{3 * time.Minute, 0},
		{time.Hour, 10},
	}
	for _, tt := range tests {
		t.Run(tt.use.String(), func(t *testing.T) {
			w := newWorld(t, 100, charge.Policy{})
			if d := w.open("r1", "revit"); d.Reason != charge.InGrace {
				t.Fatalf("got %s, want grace", d.Reason)
			}
			if got, want := w.pool.Available(w.wall), int64(90); got != want {
				t.Errorf("got available %d during grace, want %d (10 held)", got, want)
			}
			w.pass(tt.use)
			w.close("r1")
			w.pass(time.Minute)
			if got := w.spent(); got != tt.want {
				t.Errorf("got %d tokens for %v of use, want %d", got, tt.use, tt.want)
			}
			if got, want := w.pool.Available(w.wall), 100-tt.want; got != want {
				t.Errorf("got available %d after the session, want %d (hold released or committed)", got, want)
			}
		})
	}
}

func TestGraceIsCumulative(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	for i := range 3 {
		w.open(fmt.Sprint("r", i), "revit")
		w.pass(2 * time.Minute)
		w.close(fmt.Sprint("r", i))
		w.pass(time.Hour)
	}
	if got, want := w.spent(), int64(10); got != want {
		t.Errorf("three 2-minute sessions in a day: got %d tokens, want %d (grace cannot be farmed)", got, want)
	}
	var charged charge.Effect
	for _, f := range w.effs {
		if f.Kind == charge.Charged {
			charged = f
		}
	}
	if want := monday.Add(2 * (time.Hour + 2*time.Minute)); !charged.Key.Start.Equal(want) {
		t.Errorf("got window start %v, want the third session's start %v", charged.Key.Start, want)
	}

	w = newWorld(t, 100, charge.Policy{})
	w.open("a", "revit")
	w.pass(3 * time.Minute)
	w.close("a")
	w.pass(24 * time.Hour)
	w.open("b", "revit")
	w.pass(3 * time.Minute)
	w.close("b")
	w.pass(time.Minute)
	if got := w.spent(); got != 0 {
		t.Errorf("3 minutes on two days: got %d tokens, want 0 (the trailing 24 h forgot the first)", got)
	}
}

func TestMergeGap(t *testing.T) {
	tests := []struct {
		gap  time.Duration
		want int64
	}{
		{9 * time.Second, 10}, // one session: 2m + 9s + 2m55s > 5m
		{10 * time.Second, 0}, // two sessions: 2m + 2m55s, under 5m together
	}
	for _, tt := range tests {
		t.Run(tt.gap.String(), func(t *testing.T) {
			w := newWorld(t, 100, charge.Policy{})
			w.open("launcher", "revit")
			w.pass(2 * time.Minute)
			w.close("launcher")
			w.pass(tt.gap)
			w.open("revit", "revit")
			w.pass(2*time.Minute + 55*time.Second)
			w.close("revit")
			w.pass(time.Minute)
			if got := w.spent(); got != tt.want {
				t.Errorf("gap %v: got %d tokens, want %d", tt.gap, got, tt.want)
			}
			if got, want := w.count(charge.Ended), 1+btoi(tt.gap >= charge.MergeGap); got != want {
				t.Errorf("gap %v: got %d sessions ended, want %d", tt.gap, got, want)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRenewalExactlyAtWindowEnd(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	w.open("r", "revit")
	w.pass(24*time.Hour - time.Nanosecond)
	if got, want := w.spent(), int64(10); got != want {
		t.Fatalf("got %d tokens a nanosecond before the window ends, want %d", got, want)
	}
	w.pass(time.Nanosecond)
	if got, want := w.spent(), int64(20); got != want {
		t.Fatalf("got %d tokens at start+24h, want %d (renewed without grace)", got, want)
	}
	if _, ok := w.charge[charge.Key{Team: "studio", User: "mary", Product: "revit", Start: monday.Add(24 * time.Hour)}]; !ok {
		t.Errorf("got charges %v, want a window starting exactly where the first ended", w.charge)
	}
	if got, want := w.count(charge.Renewing), 1; got != want {
		t.Errorf("got %d renewal notices, want %d", got, want)
	}
}

func TestRenewalWhenEmpty(t *testing.T) {
	tests := []struct {
		policy    charge.WhenEmpty
		wantSpent int64
		wantClose bool
	}{
		{charge.EmptyOverdraw, 20, false},
		{charge.EmptyClose, 10, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			w := newWorld(t, 15, charge.Policy{RenewalWhenEmpty: tt.policy, CloseAfter: 15 * time.Minute})
			w.open("r", "revit")
			w.pass(24 * time.Hour)
			w.pass(15 * time.Minute)
			if got := w.spent(); got != tt.wantSpent {
				t.Errorf("got %d spent, want %d", got, tt.wantSpent)
			}
			if got := w.count(charge.Close) == 1; got != tt.wantClose {
				t.Errorf("got close %v, want %v", got, tt.wantClose)
			}
			if tt.wantClose && w.count(charge.Closing) != 1 {
				t.Errorf("got no warning before closing, want one")
			}
			if !tt.wantClose && w.pool.Available(w.wall) != -5 {
				t.Errorf("got available %d, want -5 after an overdrawn renewal", w.pool.Available(w.wall))
			}
		})
	}
}

func TestClosePolicyRenewsIfTokensArrive(t *testing.T) {
	w := newWorld(t, 15, charge.Policy{RenewalWhenEmpty: charge.EmptyClose})
	w.open("r", "revit")
	w.pass(24 * time.Hour)
	w.pool.Add(mustPack(t, "more", 100, w.wall), w.wall)
	w.pass(15 * time.Minute)
	if got, want := w.spent(), int64(20); got != want {
		t.Errorf("got %d spent, want %d: the admin bought tokens before the close", got, want)
	}
	if _, ok := w.charge[charge.Key{Team: "studio", User: "mary", Product: "revit", Start: monday.Add(24 * time.Hour)}]; !ok {
		t.Errorf("got %v, want the renewal keyed at the old window's end", w.charge)
	}
	if w.count(charge.Close) != 0 {
		t.Error("got the product closed, want it kept open")
	}
}

func TestClockRollback(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	w.open("r", "revit")
	w.pass(3 * time.Minute)
	w.wall = w.wall.Add(-2 * time.Hour) // the user sets the clock back
	w.pass(time.Minute)
	if got := w.count(charge.Rollback); got != 1 {
		t.Errorf("got %d rollbacks flagged, want 1", got)
	}
	w.pass(time.Minute)
	if got, want := w.spent(), int64(10); got != want {
		t.Errorf("got %d tokens after 5 minutes of use across a rollback, want %d (grace not reopened)", got, want)
	}
	for k := range w.charge {
		if want := monday; !k.Start.Equal(want) {
			t.Errorf("got window start %v, want %v", k.Start, want)
		}
	}
	// The window does not end early, nor late: 24 h of real time after its start.
	w.pass(24*time.Hour - 5*time.Minute - time.Nanosecond)
	if got, want := w.spent(), int64(10); got != want {
		t.Errorf("got %d before the window's end, want %d", got, want)
	}
	w.pass(time.Nanosecond)
	if got, want := w.spent(), int64(20); got != want {
		t.Errorf("got %d at the window's end, want %d", got, want)
	}
}

func TestSleepIsNotUse(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	w.open("r", "revit")
	w.pass(3 * time.Minute)
	w.apply(w.m.Sleep(w.reading(), w))
	w.wall = w.wall.Add(10 * time.Hour) // asleep: the monotonic clock stands still
	w.apply(w.m.Wake(w.reading(), w))
	w.pass(time.Minute)
	if got := w.spent(); got != 0 {
		t.Errorf("got %d tokens after 4 minutes of use around a night's sleep, want 0", got)
	}
	w.pass(time.Minute)
	if got, want := w.spent(), int64(10); got != want {
		t.Errorf("got %d tokens after 5 minutes of use, want %d", got, want)
	}
}

func TestSubscriptionEndsMidSession(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	until := monday.Add(time.Hour)
	w.subs = []charge.Subscription{{Product: "revit", From: monday.AddDate(0, -1, 0), Until: until}}
	if d := w.open("r", "revit"); d.Reason != charge.Subscribed {
		t.Fatalf("got %s, want subscription", d.Reason)
	}
	w.pass(time.Hour + 4*time.Minute)
	if got := w.spent(); got != 0 {
		t.Errorf("got %d, want 0 within 4 min after the subscription ended", got)
	}
	w.pass(time.Minute)
	if _, ok := w.charge[charge.Key{Team: "studio", User: "mary", Product: "revit", Start: until}]; !ok || w.spent() != 10 {
		t.Errorf("got %v, want one window from the subscription's end", w.charge)
	}
}

func TestDeniedProcess(t *testing.T) {
	w := newWorld(t, 5, charge.Policy{})
	d := w.open("r", "revit")
	if d.Allowed || d.Reason != charge.InsufficientTokens || d.Rate != 10 || d.Available != 5 {
		t.Errorf("got %+v, want insufficient_tokens with rate 10 and 5 available", d)
	}
	if got := w.count(charge.Denied); got != 1 {
		t.Errorf("got %d denials, want 1", got)
	}
	w.close("r")
	if got := len(w.m.Sessions()); got != 0 {
		t.Errorf("got %d sessions, want none for a denied process", got)
	}
}

func TestLearnWindowFromAnotherDevice(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	w.open("r", "revit")
	w.pass(time.Minute)
	other := charge.Window{Key: charge.Key{Team: "studio", User: "mary", Product: "revit", Start: monday.Add(-time.Hour)}, Tokens: 10, Device: "laptop"}
	w.apply(w.m.Learn(other))
	if got, want := w.pool.Available(w.wall), int64(100); got != want {
		t.Errorf("got available %d, want %d: the hold is released", got, want)
	}
	w.pass(time.Hour)
	if got := w.spent(); got != 0 {
		t.Errorf("got %d, want 0: the laptop's window covers the desktop", got)
	}
	w.pass(22 * time.Hour)
	if _, ok := w.charge[charge.Key{Team: "studio", User: "mary", Product: "revit", Start: other.End()}]; !ok {
		t.Errorf("got %v, want a renewal at the laptop window's end", w.charge)
	}
}

func TestFold(t *testing.T) {
	k := func(h int) charge.Key {
		return charge.Key{Team: "studio", User: "mary", Product: "revit", Start: monday.Add(time.Duration(h) * time.Hour)}
	}
	existing := []charge.Window{{Key: k(0)}, {Key: k(24)}}
	tests := []struct {
		key    charge.Key
		into   charge.Key
		folded bool
	}{
		{k(1), k(0), true},
		{k(-2), k(0), true},
		{k(24), k(24), true},
		{k(48), charge.Key{}, false},
		{k(-24), charge.Key{}, false},
		{charge.Key{Team: "studio", User: "tom", Product: "revit", Start: monday}, charge.Key{}, false},
	}
	for _, tt := range tests {
		got, ok := charge.Fold(existing, tt.key)
		if ok != tt.folded || got.Key != tt.into {
			t.Errorf("Fold(%v): got %v %v, want %v %v", tt.key, got.Key, ok, tt.into, tt.folded)
		}
	}
}

func TestCheckChangesNothing(t *testing.T) {
	w := newWorld(t, 100, charge.Policy{})
	if d := w.m.Check("mary", "revit", w); d.Reason != charge.InGrace || !d.Allowed {
		t.Errorf("got %s before any session, want grace", d.Reason)
	}
	if got := len(w.m.Sessions()); got != 0 {
		t.Errorf("got %d sessions after a check, want 0", got)
	}
	w.open("r", "revit")
	w.pass(6 * time.Minute)
	if d := w.m.Check("mary", "revit", w); d.Reason != charge.PaidWindow || !d.Until.Equal(monday.Add(charge.Day)) {
		t.Errorf("got %s until %v with a window open, want paid_window until %v", d.Reason, d.Until, monday.Add(charge.Day))
	}
	w.close("r")
	w.pass(time.Minute)
	if d := w.m.Check("mary", "revit", w); d.Reason != charge.PaidWindow {
		t.Errorf("got %s after closing inside the window, want paid_window", d.Reason)
	}
	if d := w.m.Check("mary", "autocad", w); d.Reason != charge.InGrace || d.Rate != 7 {
		t.Errorf("got %s rate %d for another product, want grace at 7", d.Reason, d.Rate)
	}
}
