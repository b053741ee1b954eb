package clocktest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"tollgate/clock/clocktest"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func fired(c <-chan time.Time) (time.Time, bool) {
	select {
	case at := <-c:
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestTimerFiresOnlyWhenAdvancedPastIt(t *testing.T) {
	c := clocktest.New(t0)
	tm := c.NewTimer(5 * time.Minute)
	c.Advance(5*time.Minute - time.Nanosecond)
	if _, ok := fired(tm.C()); ok {
		t.Fatal("got the timer fired a nanosecond early, want it waiting")
	}
	c.Advance(time.Nanosecond)
	at, ok := fired(tm.C())
	if want := t0.Add(5 * time.Minute); !ok || !at.Equal(want) {
		t.Fatalf("got fired=%v at %s, want fired at %s", ok, at, want)
	}
	if got := c.Pending(); len(got) != 0 {
		t.Errorf("got pending %v after the timer fired, want none", got)
	}
	if tm.Reset(time.Minute) {
		t.Error("got Reset of a fired timer = true, want false")
	}
	if !tm.Stop() {
		t.Error("got Stop of an armed timer = false, want true")
	}
	c.Advance(time.Hour)
	if _, ok := fired(tm.C()); ok {
		t.Error("got a stopped timer fired, want nothing")
	}
}

func TestTickerTicksAtEachPeriodAndDropsMissedTicks(t *testing.T) {
	c := clocktest.New(t0)
	tk := c.NewTicker(10 * time.Second)
	c.Advance(35 * time.Second)
	at, ok := fired(tk.C())
	if want := t0.Add(10 * time.Second); !ok || !at.Equal(want) {
		t.Fatalf("got tick=%v at %s, want the first tick, at %s (later ones dropped while unread)", ok, at, want)
	}
	if got, want := c.Pending(), []time.Duration{5 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("got pending %v, want %v", got, want)
	}
	tk.Reset(time.Minute)
	c.Advance(time.Minute)
	if at, ok := fired(tk.C()); !ok || !at.Equal(t0.Add(95*time.Second)) {
		t.Errorf("got tick=%v at %s after Reset, want one at %s", ok, at, t0.Add(95*time.Second))
	}
}

func TestSetMovesTheWallClockOnly(t *testing.T) {
	c := clocktest.New(t0)
	tm := c.NewTimer(time.Minute)
	_, mono := c.Read()
	c.Set(t0.Add(-2 * time.Hour))
	wall, mono2 := c.Read()
	if !wall.Equal(t0.Add(-2*time.Hour)) || mono2 != mono {
		t.Errorf("got wall %s mono %v, want wall %s mono %v", wall, mono2, t0.Add(-2*time.Hour), mono)
	}
	if _, ok := fired(tm.C()); ok {
		t.Error("got a timer fired by a wall clock jump, want it waiting for the monotonic clock")
	}
}

func TestBlockUntilSeesATimerArmedElsewhere(t *testing.T) {
	c := clocktest.New(t0)
	done := make(chan time.Time)
	go func() { done <- <-c.NewTimer(time.Second).C() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil: %v", err)
	}
	c.Advance(time.Second)
	if at := <-done; !at.Equal(t0.Add(time.Second)) {
		t.Errorf("got fired at %s, want %s", at, t0.Add(time.Second))
	}
}
