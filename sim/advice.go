package sim

import (
	"fmt"
	"math"
	"regexp"
	"time"

	"tollgate/charge"
	"tollgate/ledger/advisor"
	"tollgate/ledger/api"
)

// Prices are what tokens and subscriptions cost, for the advisor's money figures: the
// same for every team of the timeline. Amounts are in the currency's units (0.5 is half
// a euro); a subscription's is a month's.
type Prices struct {
	Currency      string             `yaml:"currency"`
	Token         float64            `yaml:"token"`
	Subscriptions map[string]float64 `yaml:"subscriptions"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// maxPrice is the ledger's bound on a price: a million a token or a month.
const maxPrice = 1_000_000

func (p *Prices) check(products map[string]bool) error {
	if p == nil {
		return nil
	}
	if !currencyRE.MatchString(p.Currency) {
		return fmt.Errorf("prices: currency %q: give a three-letter ISO 4217 code such as EUR or USD", p.Currency)
	}
	if p.Token < 0 || p.Token > maxPrice || math.IsNaN(p.Token) {
		return fmt.Errorf("prices: token %v: give the price of one token, from 0 to %d", p.Token, maxPrice)
	}
	for id, m := range p.Subscriptions {
		if !products[id] {
			return fmt.Errorf("prices: subscription of %q: no such product in the catalogue", id)
		}
		if m < 0 || m > maxPrice || math.IsNaN(m) {
			return fmt.Errorf("prices: subscription of %q: %v: give a month's price, from 0 to %d", id, m, maxPrice)
		}
	}
	return nil
}

// api is the prices as the ledger keeps them, in thousandths.
func (p *Prices) api() api.Prices {
	out := api.Prices{Subscriptions: map[string]int64{}}
	if p == nil {
		return out
	}
	out.Currency, out.TokenMilli = p.Currency, int64(math.Round(p.Token*1000))
	for id, m := range p.Subscriptions {
		out.Subscriptions[id] = int64(math.Round(m * 1000))
	}
	return out
}

// useLog is what the advisor needs of one user's use of one product, kept as the ledger
// would see it, each at its effect's time: the first use (an opening or a charge), the
// accepted charges, the sessions opened on a subscription, and the last thing of any
// kind (a refused launch, an ending), which makes the pair one the advisor speaks of.
type useLog struct {
	first, last time.Time
	charges     []dayTokens
	subs        []time.Time
}

type dayTokens struct {
	at     time.Time
	tokens int64
}

func (e *engine) useOf(user, product string, at time.Time) *useLog {
	k := pu{user, product}
	u := e.uses[k]
	if u == nil {
		u = &useLog{}
		e.uses[k] = u
	}
	if at.After(u.last) {
		u.last = at
	}
	return u
}

// used notes an effect of the kinds the ledger's usage counts.
func (e *engine) used(f charge.Effect) {
	switch f.Kind {
	case charge.Opened:
		u := e.useOf(f.User, f.Product, f.At)
		if u.first.IsZero() || f.At.Before(u.first) {
			u.first = f.At
		}
		if f.Reason == charge.Subscribed {
			u.subs = append(u.subs, f.At)
		}
	case charge.Denied, charge.Ended:
		e.useOf(f.User, f.Product, f.At)
	}
}

// took notes a charge the ledger accepted.
func (e *engine) took(f charge.Effect) {
	u := e.useOf(f.User, f.Product, f.At)
	if u.first.IsZero() || f.At.Before(u.first) {
		u.first = f.At
	}
	u.charges = append(u.charges, dayTokens{f.At, f.Tokens})
}

// advice is the ledger's advisor on the timeline's last 90 days, at its last event: the
// same rule (advisor.Judge) over the same counts the ledger makes (days are UTC days, and
// only what happened from now-90d to now counts, as the ledger reads it).
func (e *engine) advice(now time.Time) []api.Advice {
	from := now.Add(-advisor.Span)
	inSpan := func(t time.Time) bool { return !t.Before(from) && !t.After(now) }
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	in := advisor.Uses{Now: now, Rates: e.rates, Prices: e.tl.Prices.api(), Subs: map[api.UseKey]bool{}}
	for k, u := range e.uses {
		if u.last.Before(from) {
			continue
		}
		s := api.UseSummary{User: k.user, Product: k.product, First: u.first}
		charged := map[string]bool{}
		for _, c := range u.charges {
			if inSpan(c.at) {
				charged[day(c.at)] = true
				s.Tokens += c.tokens
			}
		}
		s.ChargedDays = int64(len(charged))
		subOnly := map[string]bool{}
		for _, t := range u.subs {
			if inSpan(t) && !charged[day(t)] {
				subOnly[day(t)] = true
			}
		}
		s.SubDays = int64(len(subOnly))
		in.Uses = append(in.Uses, s)
	}
	for id, u := range e.users {
		for _, sub := range u.Subscriptions {
			if !sub.From.After(now) && (sub.Until.IsZero() || now.Before(sub.Until.Time)) {
				in.Subs[api.UseKey{User: id, Product: sub.Product}] = true
			}
		}
	}
	return advisor.Judge(in)
}
