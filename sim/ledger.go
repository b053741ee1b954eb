package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"tollgate/charge"
)

// ents answers a device's entitlement questions: from the ledger when online, from the
// snapshot less what the device spent since when offline.
type ents struct {
	e *engine
	d *device
}

func (e *engine) ents(d *device) ents { return ents{e, d} }

func (x ents) Entitlement(user string) charge.Entitlement {
	if !x.d.offline {
		return x.e.entitlement(user)
	}
	en := x.d.snap[user]
	en.Available -= x.d.spent[en.Team]
	return en
}

// entitlement is the ledger's snapshot of a user now.
func (e *engine) entitlement(user string) charge.Entitlement {
	u := e.users[user]
	en := charge.Entitlement{
		User: user, Team: u.Team, Assigned: u.Assigned == nil || *u.Assigned,
		TeamProducts: e.teams[u.Team].Products, UserProducts: u.Products,
		Rates: e.rates, AsOf: e.now,
	}
	if p := e.pools[u.Team]; p != nil {
		en.Available = p.Available(e.now)
	}
	for _, s := range u.Subscriptions {
		en.Subscriptions = append(en.Subscriptions, charge.Subscription{Product: s.Product, From: s.From.Time, Until: s.Until.Time})
	}
	for _, p := range e.tl.Products {
		en.Windows = append(en.Windows, e.windows[pu{user, p.ID}]...)
	}
	return en
}

// effects carries out what a device's meter decided.
func (e *engine) effects(d *device, effs []charge.Effect) {
	for _, f := range effs {
		e.effect(d, f)
	}
}

func (e *engine) effect(d *device, f charge.Effect) {
	name := e.productName(f.Product)
	l := Line{At: f.At, Device: d.name, User: f.User, Product: f.Product, Kind: string(f.Kind), Tokens: f.Tokens}
	team := e.users[f.User].Team
	switch f.Kind {
	case charge.Opened:
		switch f.Reason {
		case charge.Subscribed:
			l.Text = fmt.Sprintf("%s opened %s: covered by a subscription, no tokens", f.User, name)
		case charge.PaidWindow:
			l.Text = fmt.Sprintf("%s opened %s: inside a window paid until %s, no tokens", f.User, name, stamp(f.Until))
		default:
			l.Text = fmt.Sprintf("%s opened %s: grace started, closing within 5 minutes costs nothing", f.User, name)
		}
	case charge.Denied:
		l.Text = fmt.Sprintf("%s was refused %s: %s", f.User, name, explain(f.Decision))
	case charge.Held:
		l.Text = fmt.Sprintf("%d tokens held for %s's %s while in grace", f.Tokens, f.User, name)
		if d.offline {
			d.held[f.HoldID()] = hold{team, f.Tokens}
			d.spent[team] += f.Tokens
		} else {
			e.pools[team].Hold(f.HoldID(), f.Tokens)
		}
	case charge.Released:
		l.Text = fmt.Sprintf("%s closed %s after %s of use: within grace, hold of %d tokens released", f.User, name, f.Use.Round(time.Second), f.Tokens)
		if d.offline {
			if _, ok := d.held[f.HoldID()]; ok {
				delete(d.held, f.HoldID())
				d.spent[team] -= f.Tokens
			}
		} else {
			e.pools[team].Release(f.HoldID())
			e.expire(e.pools[team]) // tokens kept back for the hold in an expired pack go now
		}
	case charge.Charged:
		what := "grace used up"
		if f.Renewal {
			what = "window renewed"
		}
		l.Text = fmt.Sprintf("%s charged %d tokens for %s (%s): window %s to %s", f.User, f.Tokens, name, what, stamp(f.Key.Start), stamp(f.Until))
		if f.Overdraw {
			l.Text += ", overdrawing the pool"
		}
		if d.offline {
			l.Text += " (offline: journaled, syncs later)"
			if _, ok := d.held[f.HoldID()]; ok {
				delete(d.held, f.HoldID())
			} else {
				d.spent[team] += f.Tokens
			}
			d.queue = append(d.queue, f)
			e.line(l)
			return
		}
		e.line(l)
		e.take(d, f, false)
		return
	case charge.Folded:
		l.Text = fmt.Sprintf("%s's %s is covered by the window %s to %s paid on another device", f.User, name, stamp(f.Key.Start), stamp(f.Until))
	case charge.Ended:
		l.Text = fmt.Sprintf("%s closed %s after %s of use", f.User, name, f.Use.Round(time.Second))
	case charge.Renewing:
		l.Text = fmt.Sprintf("%s's %s window ends at %s: still open then, it renews for %d tokens", f.User, name, stamp(f.Until), f.Tokens)
	case charge.Closing:
		l.Text = fmt.Sprintf("%s's %s window ended and the pool cannot pay %d tokens: it closes at %s", f.User, name, f.Tokens, stamp(f.Until))
	case charge.Close:
		l.Text = fmt.Sprintf("%s's %s was closed: no tokens to renew it", f.User, name)
		e.line(l)
		for _, id := range f.Procs {
			k := pu{f.User, f.Product}
			d.procs[k] = slices.DeleteFunc(d.procs[k], func(x string) bool { return x == id })
			d.closed[k]++
			e.effects(d, d.meter.Exit(e.reading(d, e.now), id, e.ents(d)))
		}
		return
	case charge.Rollback:
		l.Text = fmt.Sprintf("%s's clock went back from %s to %s: ignored, time holds at its high-water mark", d.name, stamp(f.From), stamp(f.Until))
	}
	e.line(l)
}

// take is the ledger taking a charge, exactly once per business key (rule 5). Charges
// synced after the fact are taken even if they overdraw: the use has happened.
func (e *engine) take(d *device, f charge.Effect, synced bool) {
	c := Charge{Key: f.Key, Device: d.name, Tokens: f.Tokens, Renewal: f.Renewal, At: e.now}
	pool := e.pools[f.Key.Team]
	k := pu{f.User, f.Product}
	if prev, ok := e.keys[f.Key]; ok {
		pool.Release(f.HoldID())
		c.Status = "duplicate"
		text := fmt.Sprintf("ledger refused a duplicate charge for %s's %s window %s: already paid on %s", f.User, e.productName(f.Product), stamp(f.Key.Start), prev.Device)
		if prev.Tokens != f.Tokens {
			c.Status = "refused"
			text = fmt.Sprintf("ledger refused a charge for %s's %s window %s: %d tokens, but %d were charged for it", f.User, e.productName(f.Product), stamp(f.Key.Start), f.Tokens, prev.Tokens)
		}
		e.res.Charges = append(e.res.Charges, c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: c.Status, Text: text})
		return
	}
	if w, ok := charge.Fold(e.windows[k], f.Key); ok {
		pool.Release(f.HoldID())
		c.Status = "folded"
		e.res.Charges = append(e.res.Charges, c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: "folded",
			Text: fmt.Sprintf("ledger folded %s's %s charge into the window %s to %s already paid on %s: no tokens", f.User, e.productName(f.Product), stamp(w.Key.Start), stamp(w.End()), w.Device)})
		e.effects(d, d.meter.Learn(w))
		return
	}
	if _, err := pool.Debit(e.now, f.Tokens, f.HoldID(), f.Overdraw || synced); err != nil {
		c.Status = "refused"
		e.res.Charges = append(e.res.Charges, c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: "refused", Text: "ledger refused a charge: " + err.Error()})
		return
	}
	c.Status, c.Debited = "accepted", f.Tokens
	w := charge.Window{Key: f.Key, Tokens: f.Tokens, Device: d.name}
	e.keys[f.Key] = w
	e.windows[k] = append(e.windows[k], w)
	e.res.Charges = append(e.res.Charges, c)
	e.res.Users[f.User] += f.Tokens
	e.res.Prods[f.Product] += f.Tokens
	e.spent[f.Key.Team] += f.Tokens
	e.alerts(pool)
}

func (e *engine) alerts(p *charge.Pool) {
	for _, a := range p.Alerts(e.now) {
		text := fmt.Sprintf("team %s is low on tokens: %d available, below its threshold of %d; admins notified", a.Team, a.Available, a.Threshold)
		if a.Kind == charge.AlertEmpty {
			text = fmt.Sprintf("team %s has run out of tokens (%d available); admins notified", a.Team, a.Available)
		}
		e.line(Line{At: e.now, Kind: string(a.Kind), Tokens: a.Available, Text: text})
	}
}

func (e *engine) totals() {
	for _, p := range e.sortedPools() {
		e.res.Teams = append(e.res.Teams, Balance{
			Team: p.Team, Spent: e.spent[p.Team], Available: p.Available(e.now), Unexpired: p.Unexpired(e.now),
			Debt: p.Debt, Forfeited: e.forfeit[p.Team], Expiring: p.ExpiringWithin(e.now, charge.Expiring),
		})
	}
	for _, d := range e.sortedDevices() {
		e.res.Running = append(e.res.Running, d.meter.Sessions()...)
	}
}

func (e *engine) line(l Line) { e.res.Lines = append(e.res.Lines, l) }

func (e *engine) productName(id string) string {
	for _, p := range e.tl.Products {
		if p.ID == id && p.Name != "" {
			return p.Name
		}
	}
	return id
}

func (e *engine) sortedDevices() []*device {
	out := make([]*device, 0, len(e.devices))
	for _, k := range slices.Sorted(maps.Keys(e.devices)) {
		out = append(out, e.devices[k])
	}
	return out
}

func (e *engine) sortedPools() []*charge.Pool {
	out := make([]*charge.Pool, 0, len(e.pools))
	for _, k := range slices.Sorted(maps.Keys(e.pools)) {
		out = append(out, e.pools[k])
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format("Mon 2006-01-02 15:04") }

// explain says why a launch was refused, in words for the person who launched it.
func explain(d *charge.Decision) string {
	if d == nil {
		return "refused"
	}
	switch d.Reason {
	case charge.NotAssigned:
		return "you are not assigned to your team's token pool"
	case charge.ProductRestricted:
		return "this product is not allowed for you or your team"
	case charge.InsufficientTokens:
		return fmt.Sprintf("a day costs %d tokens and the team has %d available", d.Rate, d.Available)
	case charge.OfflineTooLong:
		return fmt.Sprintf("this computer has not reached the licence server for %s", strings.TrimSuffix(d.Offline.Round(time.Minute).String(), "0s"))
	}
	return string(d.Reason)
}
