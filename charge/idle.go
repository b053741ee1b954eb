package charge

import (
	"fmt"
	"time"
)

// WhenIdle is what happens to a product nobody is using when its window ends (rule 4).
type WhenIdle string

const (
	IdleRenew WhenIdle = "renew" // renew it as any other (the default)
	IdleClose WhenIdle = "close" // warn, then ask it to close at the renewal instant
)

const (
	// DefaultIdleAfter is how long without input and without CPU makes a session idle.
	DefaultIdleAfter = 2 * time.Hour
	// IdleCloseWait is how long a product asked to close for idleness is given to go. One
	// still open then (its "save changes?" prompt is up) is renewed after all, never killed.
	IdleCloseWait = time.Minute
	// InputFresh is how old the last report of the user's input may be and still count:
	// the notifier reports every 30 s; a silent notifier (stopped, logged out) is no
	// report, and with no report the session is taken as in use.
	InputFresh = 3 * time.Minute
)

// IdleFacts is what is known of a session's idleness.
type IdleFacts struct {
	Reported  time.Time // when the user's notifier last reported input idleness; zero: never
	LastInput time.Time // the user's last keyboard or mouse input, as that report said
	LastBusy  time.Time // when the product's processes last used CPU, or started
}

// Since is the instant the session has been idle from.
func (f IdleFacts) Since() time.Time {
	if f.LastInput.After(f.LastBusy) {
		return f.LastInput
	}
	return f.LastBusy
}

// IdleAt reports whether the session, as known at now, is idle at instant at: a fresh
// report of input idleness, and neither input nor CPU for after before at. With no fresh
// report it is not idle: CPU alone never closes anything.
func (f IdleFacts) IdleAt(now, at time.Time, after time.Duration) bool {
	if f.Reported.IsZero() || now.Sub(f.Reported) > InputFresh {
		return false
	}
	return !f.Since().Add(after).After(at)
}

// IdleStep is what the idle rule says to do about a session whose window renews.
type IdleStep string

const (
	StepWait  IdleStep = "wait"  // nothing yet
	StepWarn  IdleStep = "warn"  // tell the user it will be closed at the renewal
	StepClose IdleStep = "close" // ask it to close instead of renewing
	StepRenew IdleStep = "renew" // renew it
)

// NightlyPlan is the nightly close (nightly_close) at instant at, as IdlePlan is the idle
// renewal: warn RenewalNotice before if the session will be idle at at; close at at if warned
// and still idle. It applies whatever renewal_when_idle says: an admin who sets a nightly
// close wants idle products closed at night.
func NightlyPlan(f IdleFacts, now, at time.Time, warned bool, p Policy) IdleStep {
	p = p.withDefaults()
	switch {
	case now.Before(at.Add(-RenewalNotice)):
		return StepWait
	case now.Before(at):
		if !warned && f.IdleAt(now, at, p.IdleAfter) {
			return StepWarn
		}
		return StepWait
	case warned && f.IdleAt(now, now, p.IdleAfter):
		return StepClose
	}
	return StepWait
}

// IdlePlan is the idle rule (rule 4 with renewal_when_idle): given what is known at now of a
// session whose window renews at renewAt, and whether the user was already warned that it
// would be closed, it says what to do. Under close, a session idle at the renewal instant
// is closed only if its user was warned RenewalNotice before and no input or CPU came
// since: a product is never closed without the warning, nor on a guess.
func IdlePlan(f IdleFacts, now, renewAt time.Time, warned bool, p Policy) IdleStep {
	p = p.withDefaults()
	switch {
	case now.Before(renewAt.Add(-RenewalNotice)):
		return StepWait
	case now.Before(renewAt):
		if !warned && p.RenewalWhenIdle == IdleClose && f.IdleAt(now, renewAt, p.IdleAfter) {
			return StepWarn
		}
		return StepWait
	case warned && p.RenewalWhenIdle == IdleClose && f.IdleAt(now, now, p.IdleAfter):
		return StepClose
	}
	return StepRenew
}

func validIdle(p Policy) error {
	switch p.RenewalWhenIdle {
	case "", IdleRenew, IdleClose:
	default:
		return fmt.Errorf("renewal_when_idle %q: want %q or %q", p.RenewalWhenIdle, IdleRenew, IdleClose)
	}
	if p.IdleAfter < 0 {
		return fmt.Errorf("idle_after %v: want a positive duration such as 2h", p.IdleAfter)
	}
	return nil
}
