// Package clock is how tollgate tells the time and waits: one abstraction for the
// agent, its notifier, the config watcher and the ledger, so that tests drive all of
// them with one fake (package clocktest) and never wait real minutes. An Options field
// of type Clock whose zero value is nil means the machine's clocks (Or).
//
// The product reads a test clock only through platform.FileClock, a file that only an
// administrator can write: nothing a user can set decides what is charged.
package clock

import "time"

// Clock tells the time and makes timers that fire on it.
type Clock interface {
	// Now is the wall clock.
	Now() time.Time
	// Read is the wall clock and, at the same instant, a monotonic clock that only moves
	// forward and stands still while the machine sleeps (counted from an arbitrary origin).
	Read() (wall time.Time, mono time.Duration)
	// NewTimer fires once, d from now.
	NewTimer(d time.Duration) Timer
	// NewTicker fires every d, dropping ticks a slow reader misses, as time.Ticker does.
	NewTicker(d time.Duration) Ticker
}

// Timer is the part of *time.Timer that tollgate uses.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration) bool
	Stop() bool
}

// Ticker is the part of *time.Ticker that tollgate uses.
type Ticker interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// Or is c, or the machine's clocks when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}

// Real is the machine's clocks; its monotonic reading counts from this call. Go's
// monotonic clock stands still while the machine sleeps on Linux, macOS and Windows.
func Real() Clock { return machine{start: time.Now()} }

type machine struct {
	RealTimers
	start time.Time
}

func (machine) Now() time.Time { return time.Now() }

func (c machine) Read() (time.Time, time.Duration) {
	now := time.Now()
	return now.Round(0), now.Sub(c.start)
}

// RealTimers makes the machine's timers; a clock that reads the time from elsewhere (an
// administrator's clock file) embeds it to wait in real time.
type RealTimers struct{}

// NewTimer is time.NewTimer.
func (RealTimers) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker is time.NewTicker.
func (RealTimers) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
func (t realTimer) Stop() bool                 { return t.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time   { return t.t.C }
func (t realTicker) Reset(d time.Duration) { t.t.Reset(d) }
func (t realTicker) Stop()                 { t.t.Stop() }
