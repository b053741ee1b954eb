package sim

import (
	"fmt"
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
	if len(en.Budgets) > 0 {
		// What the device spent since its snapshot counts against the caps, as on an agent.
		for _, f := range x.d.queue {
			en.Budgets = charge.Spend(en.Budgets, f.User, f.Product, f.Tokens, f.Key.Start)
		}
		for _, h := range x.d.held {
			en.Budgets = charge.Spend(en.Budgets, h.user, h.product, h.tokens, h.at)
		}
	}
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
	n := 0
	for _, p := range e.tl.Products {
		n += len(e.book.Windows(user, p.ID))
	}
	if n > 0 {
		en.Windows = make([]charge.Window, 0, n)
	}
	for _, p := range e.tl.Products {
		en.Windows = append(en.Windows, e.book.Windows(user, p.ID)...)
	}
	en.Budgets = e.budgets(u.Team, user)
	return en
}

// budgets are the caps that apply to user in team now, with what is used of each: the
// charges whose window starts in the period and the holds now, as the ledger counts them
// (rule 13). Only a team with caps pays for the count.
func (e *engine) budgets(team, user string) []charge.Budget {
	var out []charge.Budget
	for _, b := range e.caps[team] {
		if b.User != "" && b.User != user {
			continue
		}
		b.From = b.Period.Start(e.now)
		end := b.Period.End(e.now)
		for _, k := range e.book.Uses() {
			if !b.Applies(k.User, k.Product) {
				continue
			}
			for _, w := range e.book.Windows(k.User, k.Product) {
				if w.Key.Team == team && !w.Key.Start.Before(b.From) && w.Key.Start.Before(end) {
					b.Used += w.Tokens
				}
			}
		}
		for id, n := range e.pools[team].Holds {
			if h, ok := e.holders[id]; ok && b.Applies(h.user, h.product) {
				b.Used += n
			}
		}
		out = append(out, b)
	}
	return out
}

// effects carries out what a device's meter decided.
func (e *engine) effects(d *device, effs []charge.Effect) {
	for i := 0; i < len(effs); i++ {
		f := effs[i]
		// A session that ends within its grace releases its hold and ends: one line.
		if f.Kind == charge.Released && i+1 < len(effs) && effs[i+1].Kind == charge.Ended &&
			effs[i+1].User == f.User && effs[i+1].Product == f.Product {
			e.release(d, f)
			e.line(Line{At: effs[i+1].At, Device: d.name, User: f.User, Product: f.Product, Kind: string(charge.Released), Tokens: f.Tokens,
				Text: fmt.Sprintf("%s closed %s after %s of use: within grace, hold of %d tokens released, nothing charged",
					f.User, e.productName(f.Product), span(effs[i+1].Use), f.Tokens)})
			i++
			continue
		}
		e.effect(d, f)
	}
}

// release frees a hold the meter released, on the ledger or in the offline device's tally.
func (e *engine) release(d *device, f charge.Effect) {
	team := e.users[f.User].Team
	if d.offline {
		if h, ok := d.held[f.HoldID()]; ok {
			delete(d.held, f.HoldID())
			d.spent[h.team] -= f.Tokens
		}
		return
	}
	id := f.HoldID()
	for _, name := range slices.Backward(e.dl.poolNames) { // the last pool by name holding it, as before
		if _, ok := e.pools[name].Holds[id]; ok {
			team = name
			break
		}
	}
	e.pools[team].Release(f.HoldID())
	e.moved(e.pools[team])
	e.expire(e.pools[team]) // tokens kept back for the hold in an expired pack go now
}

func (e *engine) effect(d *device, f charge.Effect) {
	name := e.productName(f.Product)
	l := Line{At: f.At, Device: d.name, User: f.User, Product: f.Product, Kind: string(f.Kind), Tokens: f.Tokens}
	e.used(f)
	team := f.Key.Team // the session's team, even if the user has moved since
	if team == "" {
		team = e.users[f.User].Team
	}
	switch f.Kind {
	case charge.Opened:
		switch f.Reason {
		case charge.Subscribed:
			l.Text = fmt.Sprintf("%s opened %s: covered by a subscription, no tokens", f.User, name)
		case charge.PaidWindow:
			l.Text = fmt.Sprintf("%s opened %s: inside a window paid until %s, no tokens", f.User, name, stamp(f.Until))
		default:
			l.Text = fmt.Sprintf("%s opened %s: in grace; the first 5 minutes of use in any 24 hours cost nothing", f.User, name)
		}
	case charge.Denied:
		l.Reason = string(f.Reason)
		l.Text = fmt.Sprintf("%s was refused %s: %s", f.User, name, told(f.Decision, name))
	case charge.Held:
		l.Text = fmt.Sprintf("%d tokens held for %s's %s while in grace", f.Tokens, f.User, name)
		if d.offline {
			d.held[f.HoldID()] = hold{team, f.User, f.Product, f.Tokens, f.At}
			d.spent[team] += f.Tokens
		} else {
			if len(e.caps[team]) > 0 {
				e.holders[f.HoldID()] = hold{team, f.User, f.Product, f.Tokens, f.At}
			}
			e.pools[team].Hold(f.HoldID(), f.Tokens)
			e.moved(e.pools[team])
		}
	case charge.Released:
		l.Text = fmt.Sprintf("hold of %d tokens for %s's %s released after %s of use, nothing charged", f.Tokens, f.User, name, span(f.Use))
		e.release(d, f)
	case charge.Charged:
		what := "grace used up: 5 minutes of use"
		switch ran := f.At.Sub(f.Key.Start); {
		case f.Renewal:
			what = "window renewed"
		case ran < charge.Grace:
			// Grace is cumulative: earlier short uses in the last 24 hours count.
			what = "grace used up: 5 minutes of use in the last 24 hours, counting earlier sessions"
		}
		switch f.Reason {
		case charge.Idle:
			what += " while nobody was using it"
		case charge.StayedOpen:
			what += ": asked to close as nobody was using it, it stayed open"
		}
		if f.Reason == charge.Idle || f.Reason == charge.StayedOpen {
			e.res.Idle.Renewals++
			e.res.Idle.Spent += f.Tokens
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
		ref := e.line(l)
		if draws := e.take(d, f, false); len(draws) > 0 {
			e.amend(ref, ", paid from "+packList(draws))
		}
		return
	case charge.Folded:
		l.Text = fmt.Sprintf("%s's %s is covered by the window %s to %s paid on another device", f.User, name, stamp(f.Key.Start), stamp(f.Until))
	case charge.Ended:
		l.Text = fmt.Sprintf("%s closed %s after %s of use", f.User, name, span(f.Use))
	case charge.Renewing:
		l.Reason = string(f.Reason)
		l.Text = fmt.Sprintf("%s's %s window ends at %s: still open then, it renews for %d tokens", f.User, name, stamp(f.Until), f.Tokens)
		switch f.Reason {
		case charge.Idle:
			l.Text = fmt.Sprintf("%s's %s has been idle since %s: it will be closed at %s to save %d tokens unless touched", f.User, name, stamp(f.IdleSince), stamp(f.Until), f.Tokens)
		case charge.InUse:
			l.Text = fmt.Sprintf("%s's %s is in use again: it will not be closed; still open at %s, it renews for %d tokens", f.User, name, stamp(f.Until), f.Tokens)
		}
	case charge.Saved:
		l.Reason = string(f.Reason)
		l.Text = fmt.Sprintf("%s's %s closed while idle: %d tokens saved", f.User, name, f.Tokens)
		e.res.Idle.Closes++
		e.res.Idle.Saved += f.Tokens
	case charge.Closing:
		l.Text = fmt.Sprintf("%s's %s window ended and the pool cannot pay %d tokens: it closes at %s", f.User, name, f.Tokens, stamp(f.Until))
		if f.Reason == charge.BudgetExceeded {
			l.Reason = string(f.Reason)
			l.Text = fmt.Sprintf("%s's %s window ended and renewing it for %d tokens would pass a cap (%s): it closes at %s", f.User, name, f.Tokens, told(f.Decision, name), stamp(f.Until))
		}
	case charge.Close:
		l.Reason = string(f.Reason)
		l.Text = fmt.Sprintf("%s's %s was closed: no tokens to renew it", f.User, name)
		switch f.Reason {
		case "", charge.InsufficientTokens:
		case charge.Idle:
			l.Text = fmt.Sprintf("%s's %s, idle since %s, was asked to close instead of renewing for %d tokens", f.User, name, stamp(f.IdleSince), f.Tokens)
		case charge.BudgetExceeded:
			l.Text = fmt.Sprintf("%s's %s was closed: renewing it would pass a cap (%s)", f.User, name, told(f.Decision, name))
		default:
			l.Text = fmt.Sprintf("%s's %s was closed in grace, nothing charged: %s", f.User, name, told(f.Decision, name))
		}
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

// take is the ledger taking a charge, exactly once per business key (rule 5), by the
// ledger's own rule (charge.Take). Charges synced after the fact are taken even if they
// overdraw: the use has happened.
func (e *engine) take(d *device, f charge.Effect, synced bool) []charge.Draw {
	c := Charge{Key: f.Key, Device: d.name, Tokens: f.Tokens, Renewal: f.Renewal, At: e.now, Draws: []charge.Draw{}}
	pool := e.pools[f.Key.Team]
	// Whatever happens below may move the pool's balance or its packs.
	e.moved(pool)
	e.touchPool(pool)
	got := charge.Take(pool, e.book, charge.Claim{Key: f.Key, Tokens: f.Tokens, Device: d.name, Hold: f.HoldID(), Overdraw: f.Overdraw || synced}, e.now)
	switch prev := got.Window; got.Verdict {
	case charge.TakeDuplicate:
		c.Status = "duplicate"
		e.charge(c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: c.Status,
			Text: fmt.Sprintf("ledger refused a duplicate charge for %s's %s window %s: already paid on %s", f.User, e.productName(f.Product), stamp(f.Key.Start), prev.Device)})
		return nil
	case charge.TakeConflict:
		c.Status, c.Reason = "refused", "tokens_differ"
		e.charge(c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: c.Status, Reason: c.Reason,
			Text: fmt.Sprintf("ledger refused a charge for %s's %s window %s: %d tokens, but %d were charged for it", f.User, e.productName(f.Product), stamp(f.Key.Start), f.Tokens, prev.Tokens)})
		return nil
	case charge.TakeFolded:
		c.Status = "folded"
		e.charge(c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: "folded",
			Text: fmt.Sprintf("ledger folded %s's %s charge into the window %s to %s already paid on %s: no tokens", f.User, e.productName(f.Product), stamp(prev.Key.Start), stamp(prev.End()), prev.Device)})
		e.touch(d)
		e.effects(d, d.meter.Learn(prev))
		return nil
	case charge.TakeShort:
		c.Status, c.Reason = "refused", string(charge.InsufficientTokens)
		e.charge(c)
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: "refused", Reason: c.Reason, Text: "ledger refused a charge: " + got.Err.Error()})
		return nil
	}
	draws := got.Draws
	c.Status, c.Debited, c.Draws = "accepted", f.Tokens, append(c.Draws, draws...)
	e.took(f)
	if synced {
		text := fmt.Sprintf("ledger took %s's %s charge of %d tokens journaled offline", f.User, e.productName(f.Product), f.Tokens)
		if len(draws) > 0 {
			text += ", paid from " + packList(draws)
		}
		e.line(Line{At: e.now, Device: d.name, User: f.User, Product: f.Product, Kind: "synced", Tokens: f.Tokens, Text: text})
	}
	e.charge(c)
	e.res.Users[f.User] += f.Tokens
	e.res.Prods[f.Product] += f.Tokens
	e.spent[f.Key.Team] += f.Tokens
	e.alerts(pool)
	return draws
}

// packList says which packs paid a charge, and any part overdrawn.
func packList(draws []charge.Draw) string {
	parts := make([]string, len(draws))
	for i, dr := range draws {
		parts[i] = fmt.Sprintf("pack %s (%d)", dr.Pack, dr.Tokens)
	}
	return strings.Join(parts, " and ")
}

func (e *engine) alerts(p *charge.Pool) {
	delete(e.dl.pendingAlerts, p.Team)
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
		e.res.Teams = append(e.res.Teams, e.balance(p))
	}
	e.res.Running = append(e.res.Running, e.sessions()...)
}

func (e *engine) balance(p *charge.Pool) Balance {
	b := Balance{Team: p.Team, Spent: e.spent[p.Team], Available: p.Available(e.now), Unexpired: p.Unexpired(e.now),
		Held: p.Held(), Debt: p.Debt, Forfeited: e.forfeit[p.Team], Threshold: p.Limit(e.now),
		Expiring: p.ExpiringWithin(e.now, charge.Expiring)}
	if b.Expiring == nil {
		b.Expiring = []charge.Pack{}
	}
	return b
}

func (e *engine) sessions() []Running {
	out := []Running{}
	for _, d := range e.sortedDevices() {
		for _, s := range d.meter.Sessions() {
			out = append(out, Running{Device: d.name, Session: s})
		}
	}
	return out
}

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
	for _, k := range e.dl.devNames {
		out = append(out, e.devices[k])
	}
	return out
}

func (e *engine) sortedPools() []*charge.Pool {
	out := make([]*charge.Pool, 0, len(e.pools))
	for _, k := range e.dl.poolNames {
		out = append(out, e.pools[k])
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format("Mon 2006-01-02 15:04") }

// span prints a duration exactly, so that a boundary shows: 4m59.999s is not 5m.
func span(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// told is what the person whose launch was refused is told, in the agent's own words,
// quoted.
func told(d *charge.Decision, product string) string {
	return `"` + charge.Denial(d, product) + `"`
}
