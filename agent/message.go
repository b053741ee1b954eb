package agent

import (
	"fmt"
	"time"

	"tollgate/charge"
)

// Message is what a person is told about one of their launches, in words a
// non-technical person understands: which product, why, what it costs, the balance, and
// whom to ask.
type Message struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"` // licensing user
	Product string    `json:"product"`
	Kind    string    `json:"kind"` // denied, grace, charged, renewing, closing, closed, rollback
	Title   string    `json:"title"`
	Body    string    `json:"body"`
	Urgent  bool      `json:"urgent,omitempty"`
}

// messageFor turns an effect into a message, when it is news to the user.
func messageFor(f charge.Effect, name string, contact string, graceNotice bool) (Message, bool) {
	m := Message{At: f.At, User: f.User, Product: f.Product, Kind: string(f.Kind)}
	ask := ""
	if contact != "" {
		ask = " Contact " + contact + "."
	}
	switch f.Kind {
	case charge.Denied:
		m.Kind, m.Urgent = "denied", true
		m.Title = name + " was not started"
		m.Body = charge.Denial(f.Decision, name) + ask
	case charge.Opened:
		if f.Reason != charge.InGrace || !graceNotice {
			return m, false
		}
		m.Kind = "grace"
		m.Title = name + " started"
		rate := int64(0)
		if f.Decision != nil {
			rate = f.Decision.Rate
		}
		m.Body = fmt.Sprintf("Closing %s within 5 minutes costs nothing. After 5 minutes of use it costs %d tokens for 24 hours.", name, rate)
	case charge.Charged:
		m.Kind = "charged"
		m.Title = fmt.Sprintf("%s: %d tokens charged", name, f.Tokens)
		m.Body = fmt.Sprintf("%s is paid for until %s. Reopening it before then costs nothing.", name, clock(f.Until))
		if f.Overdraw {
			m.Body += " Your team's tokens have run out; your administrator has been told." + ask
			m.Urgent = true
		}
	case charge.Renewing:
		m.Kind = "renewing"
		m.Title = fmt.Sprintf("%s renews at %s", name, clock(f.Until))
		m.Body = fmt.Sprintf("If %s is still open at %s, another %d tokens are charged for the next 24 hours. Close it before then to avoid the charge.", name, clock(f.Until), f.Tokens)
	case charge.Closing:
		m.Kind, m.Urgent = "closing", true
		m.Title = fmt.Sprintf("%s will close at %s", name, clock(f.Until))
		m.Body = fmt.Sprintf("Your team has no tokens left to keep %s open for another day (%d tokens). Save your work: it closes at %s.%s", name, f.Tokens, clock(f.Until), ask)
	case charge.Close:
		m.Kind, m.Urgent = "closed", true
		m.Title = name + " was closed"
		m.Body = "Your team has no tokens left to keep " + name + " open." + ask
		if f.Reason == charge.NotAssigned || f.Reason == charge.ProductRestricted {
			m.Body = charge.Denial(f.Decision, name) + " It was closed before its 5 free minutes ran out: nothing was charged." + ask
		}
	default:
		return m, false
	}
	return m, true
}

func clock(t time.Time) string { return t.Local().Format("Mon 15:04") }
