// Package advisor turns a team's usage into advice: whether each user is cheaper on
// tokens or on a subscription, and when the pool runs out. It is pure: the ledger
// reads the data, these functions do the arithmetic, so the hand-computed cases of the
// tests are the rules themselves.
package advisor

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

const (
	// Span is how far back the advisor looks.
	Span = 90 * charge.Day
	// MinHistory is how long a user must have used a product before the advisor judges.
	MinHistory = 30 * charge.Day
	// The reseller's rule, used when the admin has entered no prices: seven days a
	// month or fewer is cheaper on tokens; twice a week or more (104 days a year) on a
	// subscription.
	TokensAtMost        = 7.0
	SubscriptionAtLeast = 104.0 / 12
	daysPerMonth        = 365.0 / 12
)

// Input is what the advisor needs from the ledger, as usage rows.
type Input struct {
	Now    time.Time
	Usage  []api.UsageRow           // the team's usage over [Now-Span, Now)
	First  map[api.UseKey]time.Time // first use of each (user, product), ever
	Rates  map[string]int64         // product -> tokens a day
	Prices api.Prices               // optional
	Subs   map[api.UseKey]bool      // (user, product) on a subscription now
}

// Advise returns one Advice per (user, product) used in the span, sorted by user and
// product.
func Advise(in Input) []api.Advice {
	type acc struct{ charged, subDays map[string]bool }
	uses := map[api.UseKey]*api.UseSummary{}
	days := map[api.UseKey]*acc{}
	from := in.Now.Add(-Span).UTC().Format(time.DateOnly)
	for _, r := range in.Usage {
		if r.Day < from {
			continue
		}
		k := api.UseKey{User: r.User, Product: r.Product}
		u := uses[k]
		if u == nil {
			u = &api.UseSummary{User: k.User, Product: k.Product, First: in.First[k]}
			uses[k] = u
			days[k] = &acc{charged: map[string]bool{}, subDays: map[string]bool{}}
		}
		if r.Charges > 0 {
			days[k].charged[r.Day] = true
		}
		if r.Subscription > 0 {
			days[k].subDays[r.Day] = true
		}
		u.Tokens += r.Tokens
	}
	sums := make([]api.UseSummary, 0, len(uses))
	for k, u := range uses {
		u.ChargedDays = int64(len(days[k].charged))
		for d := range days[k].subDays {
			if !days[k].charged[d] {
				u.SubDays++
			}
		}
		sums = append(sums, *u)
	}
	return Judge(Uses{Now: in.Now, Uses: sums, Rates: in.Rates, Prices: in.Prices, Subs: in.Subs})
}

// Uses is what the advisor judges: each (user, product)'s use over the Span before Now,
// counted by whoever has it (the ledger's grouped query, the simulator's timeline).
type Uses struct {
	Now    time.Time
	Uses   []api.UseSummary
	Rates  map[string]int64    // product -> tokens a day
	Prices api.Prices          // optional
	Subs   map[api.UseKey]bool // (user, product) on a subscription now
}

// Judge is the rule: one Advice per (user, product), sorted by user and product.
func Judge(in Uses) []api.Advice {
	out := make([]api.Advice, 0, len(in.Uses))
	for _, u := range in.Uses {
		out = append(out, advise(in, u))
	}
	slices.SortFunc(out, func(a, b api.Advice) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Product, b.Product))
	})
	return out
}

func advise(in Uses, u api.UseSummary) api.Advice {
	k := api.UseKey{User: u.User, Product: u.Product}
	a := api.Advice{User: k.User, Product: k.Product, Subscribed: in.Subs[k], Currency: in.Prices.Currency}
	first := u.First
	if first.IsZero() || first.After(in.Now) {
		first = in.Now
	}
	a.FirstUse = first
	observed := in.Now.Sub(first)
	if observed > Span {
		observed = Span
	}
	a.ObservedDays = int64(math.Round(observed.Hours() / 24))
	// Subscribed days are priced at the product's rate: what they would have cost on tokens.
	a.Days = u.ChargedDays + u.SubDays
	tokens := u.Tokens + u.SubDays*in.Rates[k.Product]
	a.Tokens = tokens
	if observed < MinHistory {
		a.Verdict = api.TooEarly
		a.Text = fmt.Sprintf("too early to tell: first used %s, %d days ago; the advisor judges after %d days", first.Format(time.DateOnly), a.ObservedDays, int(MinHistory/charge.Day))
		return a
	}
	days := observed.Hours() / 24
	a.DaysPerMonth = round1(float64(a.Days) * daysPerMonth / days)
	sub := in.Prices.Subscriptions[k.Product]
	if in.Prices.TokenMilli > 0 && sub > 0 {
		a.TokensYear = int64(math.Round(float64(tokens) * 365 / days * float64(in.Prices.TokenMilli)))
		a.SubYear = 12 * sub
		numbers := fmt.Sprintf("%.1f days a month, %d tokens in %d days: %s a year on tokens, %s on a subscription",
			a.DaysPerMonth, tokens, a.ObservedDays, charge.Money(a.TokensYear, a.Currency), charge.Money(a.SubYear, a.Currency))
		switch {
		case a.SubYear < a.TokensYear && a.Subscribed:
			a.Verdict, a.Savings = api.KeepSubscription, a.TokensYear-a.SubYear
			a.Text = fmt.Sprintf("keep the subscription (saves %s a year): %s", charge.Money(a.Savings, a.Currency), numbers)
		case a.SubYear < a.TokensYear:
			a.Verdict, a.Savings = api.MoveSubscription, a.TokensYear-a.SubYear
			a.Text = fmt.Sprintf("move to a subscription (saves %s a year): %s", charge.Money(a.Savings, a.Currency), numbers)
		case a.Subscribed:
			a.Verdict, a.Savings = api.MoveTokens, a.SubYear-a.TokensYear
			a.Text = fmt.Sprintf("move to tokens (saves %s a year): %s", charge.Money(a.Savings, a.Currency), numbers)
		default:
			a.Verdict, a.Savings = api.KeepTokens, a.SubYear-a.TokensYear
			a.Text = fmt.Sprintf("keep on tokens (saves %s a year): %s", charge.Money(a.Savings, a.Currency), numbers)
		}
		return a
	}
	numbers := fmt.Sprintf("%.1f days a month (%d days in %d); no prices entered, so the reseller's rule: %g days a month or fewer on tokens, twice a week or more on a subscription",
		a.DaysPerMonth, a.Days, a.ObservedDays, TokensAtMost)
	switch {
	case a.DaysPerMonth <= TokensAtMost && a.Subscribed:
		a.Verdict, a.Text = api.MoveTokens, "move to tokens: "+numbers
	case a.DaysPerMonth <= TokensAtMost:
		a.Verdict, a.Text = api.KeepTokens, "keep on tokens: "+numbers
	case a.DaysPerMonth >= SubscriptionAtLeast && a.Subscribed:
		a.Verdict, a.Text = api.KeepSubscription, "keep the subscription: "+numbers
	case a.DaysPerMonth >= SubscriptionAtLeast:
		a.Verdict, a.Text = api.MoveSubscription, "move to a subscription: "+numbers
	default:
		a.Verdict, a.Text = api.TooClose, "too close to call; enter the token and subscription prices: "+numbers
	}
	return a
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// ForecastInput is what the forecast needs from the ledger.
type ForecastInput struct {
	Now      time.Time
	Team     api.Team
	Daily    []api.TokenDay // tokens charged per day over [Now-30d, Now)
	Packs    []api.Pack     // the team's live packs
	Products []api.Product
	Prices   api.Prices
}

// Forecast says when the pool runs out at the trailing 30-day rate, and how many more
// days of each product it buys.
func Forecast(in ForecastInput) api.Forecast {
	f := api.Forecast{Team: in.Team.ID, At: in.Now, Available: in.Team.Balance.Available, DaysLeft: -1, Currency: in.Prices.Currency, Products: []api.ProductDays{}}
	from := in.Now.Add(-30 * charge.Day).UTC().Format(time.DateOnly)
	for _, d := range in.Daily {
		if d.Day >= from {
			f.Burned30 += d.Tokens
		}
	}
	f.PerDay = round1(float64(f.Burned30) / 30)
	if in.Prices.TokenMilli > 0 {
		f.CostPerDay = int64(math.Round(float64(f.Burned30) / 30 * float64(in.Prices.TokenMilli)))
	}
	horizon := in.Now.Add(charge.Expiring)
	switch {
	case f.Available <= 0:
		f.DaysLeft, f.RunsOut = 0, in.Now
		f.Explanation = fmt.Sprintf("the pool is empty (%d tokens available): buy a pack", f.Available)
	case f.Burned30 == 0:
		f.Explanation = "no tokens were charged in the last 30 days, so the pool does not run out at this rate"
	default:
		f.DaysLeft = round1(float64(f.Available) / (float64(f.Burned30) / 30))
		f.RunsOut = in.Now.Add(time.Duration(f.DaysLeft * float64(charge.Day))).UTC()
		horizon = f.RunsOut
		f.Explanation = fmt.Sprintf("%d tokens available at %.1f a day (the last 30 days: %d tokens) last %.1f days, until %s",
			f.Available, f.PerDay, f.Burned30, f.DaysLeft, f.RunsOut.Format(time.DateOnly))
	}
	for _, p := range in.Packs {
		if p.Left > 0 && p.Expires.After(in.Now) && p.Expires.Before(horizon) {
			f.Expiring += p.Left
		}
	}
	if f.Expiring > 0 && f.Burned30 > 0 {
		f.Explanation += fmt.Sprintf("; %d tokens expire before then unless spent first", f.Expiring)
	}
	for _, p := range in.Products {
		if !in.Team.Products.Has(p.ID) || p.Rate <= 0 {
			continue
		}
		days := max(f.Available, 0) / p.Rate
		f.Products = append(f.Products, api.ProductDays{Product: p.ID, Name: cmp.Or(p.Name, p.ID), Rate: p.Rate, Days: days})
	}
	return f
}
