package agent

import (
	"context"
	"net/http"
	"strconv"

	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/config"
)

// The agent's side of the local API (package localapi): the methods its handlers call.
// Each takes the agent's locks itself and hands back copies, so that no handler reads
// the agent's fields.

var _ localapi.Backend = (*Agent)(nil)

func (a *Agent) serveAPI() (*localapi.Server, error) {
	return localapi.Listen(localapi.ServerOptions{Socket: a.opts.Socket, Backend: a, Logger: a.log})
}

// UserOf maps an OS account to its licensing user by the configuration in force.
func (a *Agent) UserOf(account, domain string) (string, bool) {
	u, err := a.config().User(account, domain)
	return u, err == nil && u != ""
}

// Status is what c may see of the agent: their own sessions and messages, everyone's for
// an administrator.
func (a *Agent) Status(c localapi.Caller) localapi.Status {
	admin := c.PermitWrite()
	a.mu.Lock()
	st := localapi.Status{Device: a.device, Now: a.meter.Now(), Caller: c.User, Admin: admin, Rollbacks: a.rollbacks,
		AsOf: a.ents.asOf(c.User), AdminContact: a.cfg.AdminContact, Gate: a.gateState(), Journal: a.journalHealth()}
	for _, ss := range a.meter.Sessions() {
		if admin || ss.User == c.User {
			st.Sessions = append(st.Sessions, ss)
		}
	}
	for _, m := range a.messages {
		if admin || m.User == c.User {
			st.Messages = append(st.Messages, m)
		}
	}
	a.mu.Unlock()
	// The rest guard themselves (see Agent): no need to hold a.mu, which a launch may want.
	if c.User != "" {
		e := a.ents.Entitlement(c.User)
		if e.Team != "" {
			st.Available, st.Budgets = &e.Available, e.Budgets
		}
	}
	st.Source = a.src.Mode()
	if a.link != nil {
		ls := a.link.state()
		st.Ledger = &ls
	}
	st.Config = a.watcher.Health()
	if unsent, err := a.journal.Unsent(a.synced.Load().(string), 0); err == nil {
		st.Backlog = len(unsent)
	}
	return st
}

// Check says what a launch of product by user would get now, in words; it places
// nothing. A product the catalogue does not name is refused with CodeUnknownProduct.
func (a *Agent) Check(_ context.Context, user, product string) (localapi.CheckResult, error) {
	cfg := a.config()
	p, known := cfg.Product(product)
	if !known {
		return localapi.CheckResult{}, &localapi.Error{Status: http.StatusNotFound, Code: localapi.CodeUnknownProduct,
			Message: "no product " + quote(product) + " in this workstation's catalogue"}
	}
	d := a.wouldLaunch(user, product)
	res := localapi.CheckResult{Decision: d, Name: nameOf(p), Contact: cfg.AdminContact}
	if d.Allowed {
		res.Message = allowedText(d, res.Name)
	} else {
		res.Message = charge.Denial(&d, res.Name)
	}
	return res, nil
}

// Messages lists what user has been told, oldest first.
func (a *Agent) Messages(user string) []localapi.Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []localapi.Message
	for _, m := range a.messages {
		if m.User == user {
			out = append(out, m)
		}
	}
	return out
}

func quote(s string) string { return `"` + s + `"` }

func nameOf(p config.Product) string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

func allowedText(d charge.Decision, name string) string {
	switch d.Reason {
	case charge.Subscribed:
		return name + " is covered by your subscription: no tokens."
	case charge.PaidWindow:
		return name + " is paid for until " + clock(d.Until) + ": no tokens."
	}
	return graceText(d, name)
}

func graceText(d charge.Decision, name string) string {
	return "You may start " + name + ". Closing it within 5 minutes costs nothing; after that it costs " +
		itoa(d.Rate) + " tokens for 24 hours (your team has " + charge.TeamLeft(d.Available) + ")."
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
