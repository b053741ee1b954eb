package charge

import "time"

// Kind names what a Meter did.
type Kind string

// What a Meter reports. The caller journals each effect before acting on it.
const (
	Opened   Kind = "opened"   // a session opened (Reason says how it is paid for)
	Denied   Kind = "denied"   // a launch was refused; the process must be closed
	Held     Kind = "held"     // tokens set aside for a session in grace
	Released Kind = "released" // a hold freed: the session ended within its grace
	Charged  Kind = "charged"  // a window paid: the grace ran out, or a renewal
	Folded   Kind = "folded"   // a window paid elsewhere covers this session; nothing debited here
	Ended    Kind = "ended"    // a session ended
	Renewing Kind = "renewing" // a window ends within RenewalNotice while the product runs
	Closing  Kind = "closing"  // the pool cannot renew: the product closes at Until
	Close    Kind = "close"    // close the session's processes now
	Rollback Kind = "rollback" // the wall clock moved backwards; time held at its high-water mark
	// Saved: a product asked to close for idleness at its renewal did close; Tokens is
	// what the renewal would have cost and Key the window it would have opened.
	Saved Kind = "saved"
)

// RenewalNotice is how long before a renewal the user is told it is coming.
const RenewalNotice = 15 * time.Minute

// Effect is one thing a Meter decided, with everything needed to act on it, journal it,
// sync it and explain it to a person.
type Effect struct {
	Kind     Kind          `json:"kind"`
	At       time.Time     `json:"at"`
	Device   string        `json:"device"`
	User     string        `json:"user,omitempty"`
	Product  string        `json:"product,omitempty"`
	Key      Key           `json:"key,omitzero"`      // held, released, charged, folded: the window's key
	Hold     string        `json:"hold,omitempty"`    // held, released, charged: the hold's name when the caller named it
	Tokens   int64         `json:"tokens,omitempty"`  // held, released, charged
	Reason   Reason        `json:"reason,omitempty"`  // opened, denied; closing, close: when not for tokens; charged, renewing, close, saved: idle
	Renewal  bool          `json:"renewal,omitempty"` // charged: at a window's end, without grace
	Overdraw bool          `json:"overdraw,omitempty"`
	Use      time.Duration `json:"use,omitempty"`   // released, ended: use in the session
	Until    time.Time     `json:"until,omitzero"`  // opened: window or subscription end; renewing, closing: when
	Procs    []string      `json:"procs,omitempty"` // denied, close: the processes to close
	Decision *Decision     `json:"decision,omitempty"`
	From     time.Time     `json:"from,omitzero"` // rollback: the high-water mark
	// IdleSince is, for a renewal charged while nobody used the product (Reason Idle, or
	// StayedOpen when it was asked to close and did not), a renewing notice of an idle
	// close to come (Reason Idle) and the close itself, since when nobody used it.
	IdleSince time.Time `json:"idle_since,omitzero"`
}

// HoldID names the hold a held, released or charged effect refers to; the device is part
// of it because two devices may hold for the same user and product at once.
func (e Effect) HoldID() string {
	if e.Hold != "" {
		return e.Hold
	}
	return WindowHold(e.Device, e.Key)
}
