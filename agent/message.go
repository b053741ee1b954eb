package agent

import (
	"fmt"
	"time"

	"tollgate/agent/localapi"
	"tollgate/charge"
)

// messageFor turns an effect into a message, when it is news to the user.
func messageFor(f charge.Effect, name string, contact string, graceNotice bool) (localapi.Message, bool) {
	m := localapi.Message{At: f.At, User: f.User, Product: f.Product}
	ask := ""
	if contact != "" {
		ask = " Contact " + contact + "."
	}
	switch f.Kind {
	case charge.Denied:
		m.Kind, m.Urgent = localapi.KindDenied, true
		m.Title = name + " was not started"
		m.Body = charge.Denial(f.Decision, name) + ask
	case charge.Opened:
		if f.Reason != charge.InGrace || !graceNotice {
			return m, false
		}
		m.Kind = localapi.KindGrace
		m.Title = name + " started"
		rate := int64(0)
		if f.Decision != nil {
			rate = f.Decision.Rate
		}
		m.Body = fmt.Sprintf("Closing %s within 5 minutes costs nothing. After 5 minutes of use it costs %d tokens for 24 hours.", name, rate)
	case charge.Charged:
		m.Kind = localapi.KindCharged
		m.Title = fmt.Sprintf("%s: %d tokens charged", name, f.Tokens)
		m.Body = fmt.Sprintf("%s is paid for until %s. Reopening it before then costs nothing.", name, clock(f.Until))
		if f.Reason == charge.StayedOpen {
			m.Body = fmt.Sprintf("%s was asked to close because nobody had used it for %s, but it stayed open (it may be asking whether to save changes), so it was renewed: it is paid for until %s.",
				name, charge.Roughly(f.At.Sub(f.IdleSince)), clock(f.Until))
		}
		if f.Overdraw {
			m.Body += " Your team's tokens have run out; your administrator has been told." + ask
			m.Urgent = true
		}
	case charge.Renewing:
		if f.Reason == charge.Idle {
			m.Kind = localapi.KindIdleClosing
			m.Title = fmt.Sprintf("%s will be closed at %s", name, clock(f.Until))
			m.Body = fmt.Sprintf("%s has been idle %s; it will be closed at %s to save %d tokens: touch it to keep it.",
				name, charge.Roughly(f.At.Sub(f.IdleSince)), clock(f.Until), f.Tokens)
			break
		}
		m.Kind = localapi.KindRenewing
		if f.Reason == charge.InUse {
			m.Title = fmt.Sprintf("%s stays open", name)
			m.Body = fmt.Sprintf("You are using %s again, so it will not be closed. If it is still open at %s, another %d tokens are charged for the next 24 hours.", name, clock(f.Until), f.Tokens)
			break
		}
		m.Title = fmt.Sprintf("%s renews at %s", name, clock(f.Until))
		m.Body = fmt.Sprintf("If %s is still open at %s, another %d tokens are charged for the next 24 hours. Close it before then to avoid the charge.", name, clock(f.Until), f.Tokens)
	case charge.Closing:
		m.Kind, m.Urgent = localapi.KindClosing, true
		m.Title = fmt.Sprintf("%s will close at %s", name, clock(f.Until))
		m.Body = fmt.Sprintf("Your team has no tokens left to keep %s open for another day (%d tokens). Save your work: it closes at %s.%s", name, f.Tokens, clock(f.Until), ask)
		if f.Reason == charge.BudgetExceeded {
			m.Body = fmt.Sprintf("%s Save your work: %s closes at %s.%s", charge.Denial(f.Decision, name), name, clock(f.Until), ask)
		}
	case charge.Close:
		if f.Reason == charge.Idle {
			m.Kind, m.Procs = localapi.KindIdleClose, f.Procs
			m.Title = fmt.Sprintf("Closing %s: nobody has used it for %s", name, charge.Roughly(f.At.Sub(f.IdleSince)))
			m.Body = fmt.Sprintf("%s was asked to close instead of renewing for %d tokens. If it asks whether to save changes, answer it: if it is still open at %s, it is renewed.",
				name, f.Tokens, clock(f.Until))
			break
		}
		m.Kind, m.Urgent = localapi.KindClosed, true
		m.Title = name + " was closed"
		m.Body = "Your team has no tokens left to keep " + name + " open." + ask
		if f.Reason == charge.BudgetExceeded {
			m.Body = charge.Denial(f.Decision, name) + " It was closed rather than renewed." + ask
		}
		if f.Reason == charge.NotAssigned || f.Reason == charge.ProductRestricted {
			m.Body = charge.Denial(f.Decision, name) + " It was closed before its 5 free minutes ran out: nothing was charged." + ask
		}
	case charge.Saved:
		m.Kind = localapi.KindIdleSaved
		m.Title = fmt.Sprintf("%s closed: %d tokens saved", name, f.Tokens)
		m.Body = fmt.Sprintf("%s was closed because nobody had used it for %s, instead of renewing for %d tokens.", name, charge.Roughly(f.At.Sub(f.IdleSince)), f.Tokens)
	default:
		return m, false
	}
	return m, true
}

func clock(t time.Time) string { return t.Local().Format("Mon 15:04") }
