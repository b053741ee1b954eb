package charge

import (
	"fmt"
	"time"
)

// WhenEmpty is what happens to a running product whose window ends when the pool cannot
// pay the renewal (rule 7).
type WhenEmpty string

const (
	EmptyOverdraw WhenEmpty = "overdraw" // charge anyway; the balance goes negative; admins are alerted
	EmptyClose    WhenEmpty = "close"    // warn, then close the product after Policy.CloseAfter
)

// Policy holds the admin's choices that the rules leave open. The zero value is the
// documented default.
type Policy struct {
	OfflineMaxAge    time.Duration `json:"offline_max_age" yaml:"offline_max_age"`
	RenewalWhenEmpty WhenEmpty     `json:"renewal_when_empty" yaml:"renewal_when_empty"`
	CloseAfter       time.Duration `json:"close_after" yaml:"close_after"`
	// RenewalWhenIdle and IdleAfter: see IdlePlan.
	RenewalWhenIdle WhenIdle      `json:"renewal_when_idle,omitempty" yaml:"renewal_when_idle"`
	IdleAfter       time.Duration `json:"idle_after,omitempty" yaml:"idle_after"`
}

// Defaults of Policy's fields.
const (
	DefaultOfflineMaxAge = 24 * time.Hour
	DefaultCloseAfter    = 15 * time.Minute
)

func (p Policy) withDefaults() Policy {
	if p.OfflineMaxAge == 0 {
		p.OfflineMaxAge = DefaultOfflineMaxAge
	}
	if p.RenewalWhenEmpty == "" {
		p.RenewalWhenEmpty = EmptyOverdraw
	}
	if p.CloseAfter == 0 {
		p.CloseAfter = DefaultCloseAfter
	}
	if p.RenewalWhenIdle == "" {
		p.RenewalWhenIdle = IdleRenew
	}
	if p.IdleAfter == 0 {
		p.IdleAfter = DefaultIdleAfter
	}
	return p
}

// Validate reports a policy that cannot be applied.
func (p Policy) Validate() error {
	switch p.RenewalWhenEmpty {
	case "", EmptyOverdraw, EmptyClose:
	default:
		return fmt.Errorf("renewal_when_empty %q: want %q or %q", p.RenewalWhenEmpty, EmptyOverdraw, EmptyClose)
	}
	if p.OfflineMaxAge < 0 {
		return fmt.Errorf("offline_max_age %v: want a positive duration such as 24h", p.OfflineMaxAge)
	}
	if p.CloseAfter < 0 {
		return fmt.Errorf("close_after %v: want a positive duration such as 15m", p.CloseAfter)
	}
	return validIdle(p)
}
