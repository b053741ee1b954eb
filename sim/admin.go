package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"tollgate/charge"
)

// admin applies a change an admin makes on the ledger, by the rules the ledger uses: a
// rate applies to windows starting after it; a subscription, an assignment or a
// restriction applies at once, also to a session in grace (rule 1 and the admin's word
// come first), while paid windows and subscriptions already running run on. Devices
// online see the change at once; a device offline sees it when it is back.
func (e *engine) admin(ev Event) {
	var affected []string // users whose sessions in grace are decided afresh
	l := Line{At: e.now, Kind: "admin"}
	switch {
	case ev.Rate != nil:
		r := *ev.Rate
		old := e.rates[r.Product]
		// A new map: snapshots taken offline keep the rates they were taken with.
		e.rates = maps.Clone(e.rates)
		e.rates[r.Product] = r.Tokens
		l.Kind, l.Product, l.Tokens = "rate", r.Product, r.Tokens
		l.Text = fmt.Sprintf("rate of %s changed from %d to %d tokens a day: windows starting from now cost %d; windows already paid, and sessions already in grace, keep %d",
			e.productName(r.Product), old, r.Tokens, r.Tokens, old)
	case ev.Subscribe != nil:
		s := *ev.Subscribe
		u := e.users[s.User]
		u.Subscriptions = append(slices.Clip(u.Subscriptions), Subscription{Product: s.Product, From: s.From, Until: s.Until})
		e.users[s.User] = u
		until := "with no end"
		if !s.Until.IsZero() {
			until = "until " + stamp(s.Until.Time)
		}
		l.Kind, l.User, l.Product = "subscribed", s.User, s.Product
		l.Text = fmt.Sprintf("%s subscribed to %s from %s %s: no tokens for it meanwhile", s.User, e.productName(s.Product), stamp(s.From.Time), until)
		affected = []string{s.User}
	case ev.Assign != nil:
		a := *ev.Assign
		u := e.users[a.User]
		from := u.Team
		t := true
		u.Team, u.Assigned = a.Team, &t
		e.users[a.User] = u
		l.Kind, l.User = "assigned", a.User
		l.Text = fmt.Sprintf("%s assigned to team %s's token pool", a.User, a.Team)
		if from != a.Team {
			l.Text += fmt.Sprintf(" (moved from team %s; windows already paid stay paid)", from)
		}
		affected = []string{a.User}
	case ev.Unassign != nil:
		u := e.users[ev.Unassign.User]
		f := false
		u.Assigned = &f
		e.users[ev.Unassign.User] = u
		l.Kind, l.User = "unassigned", ev.Unassign.User
		l.Text = fmt.Sprintf("%s taken off team %s's token pool: new launches are refused, sessions in grace close now", u.ID, u.Team)
		affected = []string{u.ID}
	case ev.Restrict != nil:
		r := *ev.Restrict
		what := "every product"
		if len(r.Products) > 0 {
			what = strings.Join(r.Products, ", ")
		}
		l.Kind = "restricted"
		if r.Team != "" {
			t := e.teams[r.Team]
			t.Products = slices.Clone(r.Products)
			e.teams[r.Team] = t
			l.Text = fmt.Sprintf("team %s's tokens now cover %s: anything else is refused, and closes now if in grace", r.Team, what)
			for _, id := range slices.Sorted(maps.Keys(e.users)) {
				if e.users[id].Team == r.Team {
					affected = append(affected, id)
				}
			}
		} else {
			u := e.users[r.User]
			u.Products = slices.Clone(r.Products)
			e.users[r.User] = u
			l.User = r.User
			l.Text = fmt.Sprintf("%s may now use %s: anything else is refused, and closes now if in grace", r.User, what)
			affected = []string{r.User}
		}
	case ev.Budget != nil:
		c := *ev.Budget
		b := charge.Budget{Team: c.Team, User: c.User, Product: c.Product, Period: c.Period, Tokens: c.Tokens, Extra: c.Extra, ExtraUntil: c.Until.Time}
		caps := slices.DeleteFunc(slices.Clone(e.caps[c.Team]), func(o charge.Budget) bool {
			return o.User == b.User && o.Product == b.Product && o.Period == b.Period
		})
		e.caps[c.Team] = append(caps, b)
		l.Kind, l.User, l.Product, l.Tokens = "budget", c.User, c.Product, c.Tokens
		l.Text = fmt.Sprintf("%s may start at most %d tokens of charges a %s", b.Scope(), c.Tokens, c.Period)
		if c.Extra > 0 {
			l.Text += fmt.Sprintf(", %d until %s", c.Tokens+c.Extra, stamp(c.Until.Time))
		}
		l.Text += ": launches past it are refused; renewals past it follow renewal_when_empty"
	case ev.Threshold != nil:
		t := *ev.Threshold
		p := e.pools[t.Team]
		p.Threshold = charge.Threshold{Percent: t.Percent, Absolute: t.Absolute}
		l.Kind, l.Tokens = "threshold", p.Limit(e.now)
		l.Text = fmt.Sprintf("team %s's low-balance threshold is now %d tokens (%d available)", t.Team, p.Limit(e.now), p.Available(e.now))
		e.line(l)
		e.alerts(p) // a threshold raised above the balance is a crossing
		return
	}
	e.line(l)
	for _, d := range e.sortedDevices() {
		if d.offline || d.asleep {
			continue
		}
		for _, u := range affected {
			e.effects(d, d.meter.Recheck(e.reading(d, e.now), u, e.ents(d)))
		}
	}
}

// report prints where things stand at this instant: each team's balance, the windows
// paid and open, the holds, and the sessions running.
func (e *engine) report() {
	for _, d := range e.sortedDevices() {
		if !d.asleep { // bring each meter to this instant, so that grace left is as of now
			e.effects(d, d.meter.Advance(e.reading(d, e.now), e.ents(d)))
		}
	}
	r := &Report{Teams: []Balance{}, Windows: []charge.Window{}, Holds: []Hold{}, Sessions: e.sessions()}
	var details []string
	for _, p := range e.sortedPools() {
		b := e.balance(p)
		r.Teams = append(r.Teams, b)
		details = append(details, fmt.Sprintf("team %s: %d available = %d unexpired - %d held - %d debt; %d spent so far, %d forfeited; low-balance threshold %d",
			b.Team, b.Available, b.Unexpired, b.Held, b.Debt, b.Spent, b.Forfeited, b.Threshold))
		for _, id := range slices.Sorted(maps.Keys(p.Holds)) {
			r.Holds = append(r.Holds, Hold{Team: p.Team, ID: id, Tokens: p.Holds[id]})
		}
	}
	for _, d := range e.sortedDevices() {
		for _, id := range slices.Sorted(maps.Keys(d.held)) {
			r.Holds = append(r.Holds, Hold{Team: d.held[id].team, ID: id, Tokens: d.held[id].tokens})
		}
	}
	for _, k := range e.book.Uses() {
		for _, w := range e.book.Windows(k.User, k.Product) {
			if w.Covers(e.now) {
				r.Windows = append(r.Windows, w)
				details = append(details, fmt.Sprintf("window: %s's %s paid until %s (%d tokens, on %s)",
					k.User, e.productName(k.Product), stamp(w.End()), w.Tokens, w.Device))
			}
		}
	}
	for _, h := range r.Holds {
		what := h.ID
		if dev, k, ok := charge.ParseWindowHold(h.ID); ok {
			what = fmt.Sprintf("%s's %s on %s, in grace", k.User, e.productName(k.Product), dev)
		}
		details = append(details, fmt.Sprintf("hold: %d tokens of team %s for %s", h.Tokens, h.Team, what))
	}
	for _, s := range r.Sessions {
		what := string(s.State)
		switch {
		case s.State == charge.PhaseGrace:
			what = fmt.Sprintf("in grace, %s of it left", span(s.GraceLeft))
		case !s.Until.IsZero():
			what = fmt.Sprintf("%s until %s", s.State, stamp(s.Until))
		}
		if !s.Running {
			what += fmt.Sprintf("; its last process ended, the session ends after a %s gap", span(charge.MergeGap))
		}
		details = append(details, fmt.Sprintf("running: %s's %s on %s since %s, %s", s.User, e.productName(s.Product), s.Device, stamp(s.Start), what))
	}
	if len(r.Windows)+len(r.Holds)+len(r.Sessions) == 0 {
		details = append(details, "no windows open, no holds, nothing running")
	}
	e.line(Line{At: e.now, Kind: "report", Text: "where things stand at " + e.now.Format(time.RFC3339), Report: r, Details: details})
}
