package charge

import (
	"fmt"
	"time"
)

// Period is the span a budget caps (rule 13): a UTC calendar day or a UTC calendar month.
type Period string

const (
	PerDay   Period = "day"
	PerMonth Period = "month"
)

// Start is the first instant of the period containing t.
func (p Period) Start(t time.Time) time.Time {
	t = t.UTC()
	if p == PerMonth {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// End is the first instant after the period containing t.
func (p Period) End(t time.Time) time.Time {
	s := p.Start(t)
	if p == PerMonth {
		return s.AddDate(0, 1, 0)
	}
	return s.AddDate(0, 0, 1)
}

// Valid reports whether p is a day or a month.
func (p Period) Valid() bool { return p == PerDay || p == PerMonth }

// Budget is a cap on the tokens a team, or one user or one product of it, may start
// charges for in one period, with what was used of it when the snapshot was taken.
// User and Product are both empty for a team cap; at most one is set.
type Budget struct {
	Team       string    `json:"team" yaml:"team"`
	User       string    `json:"user,omitempty" yaml:"user"`
	Product    string    `json:"product,omitempty" yaml:"product"`
	Period     Period    `json:"period" yaml:"period"`
	Tokens     int64     `json:"tokens" yaml:"tokens"`         // the cap
	Extra      int64     `json:"extra,omitempty" yaml:"extra"` // a one-off extension, until ExtraUntil
	ExtraUntil time.Time `json:"extra_until,omitzero" yaml:"extra_until"`
	Used       int64     `json:"used" yaml:"used"` // charged and held in the period as of From
	From       time.Time `json:"from" yaml:"from"` // start of the period Used counts
	// Currency and TokenMilli are the team's token price when the snapshot was taken, in
	// thousandths of Currency, for telling the cap in money too; 0: the team set no price.
	// The cap itself is in tokens, whatever the price does after it was set (rule 13).
	Currency   string `json:"currency,omitempty" yaml:"currency"`
	TokenMilli int64  `json:"token_milli,omitempty" yaml:"token_milli"`
}

// Scope names whom the budget caps, for admins: "user mary", "product revit", "team studio".
func (b Budget) Scope() string {
	switch {
	case b.User != "":
		return "user " + b.User
	case b.Product != "":
		return "product " + b.Product
	}
	return "team " + b.Team
}

// Applies reports whether a charge of user for product counts against b.
func (b Budget) Applies(user, product string) bool {
	return (b.User == "" || b.User == user) && (b.Product == "" || b.Product == product)
}

// Limit is the cap at t: the tokens plus an extension not yet expired.
func (b Budget) Limit(t time.Time) int64 {
	if b.Extra > 0 && t.Before(b.ExtraUntil) {
		return b.Tokens + b.Extra
	}
	return b.Tokens
}

// UsedAt is what was used of the budget in the period containing t: a snapshot taken in
// an earlier period knows nothing of this one, which starts from zero.
func (b Budget) UsedAt(t time.Time) int64 {
	if !b.Period.Start(t).Equal(b.From) {
		return 0
	}
	return b.Used
}

// Left is what the budget still allows at t; negative when overdrawn by renewals.
func (b Budget) Left(t time.Time) int64 { return b.Limit(t) - b.UsedAt(t) }

// String is the user's sentence about the budget: "you have used 60 of your 80 tokens
// this month", "your team has used 20 of its 25 tokens for revit today"; where the team
// has a token price, with the money too: "... this month (750.00 of 1,000.00 EUR)".
func (b Budget) String(t time.Time) string {
	span := "today"
	if b.Period == PerMonth {
		span = "this month"
	}
	used, limit := b.UsedAt(t), b.Limit(t)
	var s string
	switch {
	case b.User != "":
		s = fmt.Sprintf("you have used %d of your %d tokens %s", used, limit, span)
	case b.Product != "":
		s = fmt.Sprintf("your team has used %d of its %d tokens for %s %s", used, limit, b.Product, span)
	default:
		s = fmt.Sprintf("your team has used %d of its %d tokens %s", used, limit, span)
	}
	if m := b.InMoney(t); m != "" {
		s += " (" + m + ")"
	}
	return s
}

// InMoney is what was used of the budget and its cap at t at the team's token price,
// "750.00 of 1,000.00 EUR"; "" when the team has no token price.
func (b Budget) InMoney(t time.Time) string {
	if b.TokenMilli <= 0 || b.Currency == "" {
		return ""
	}
	return amount(b.UsedAt(t)*b.TokenMilli) + " of " + Money(b.Limit(t)*b.TokenMilli, b.Currency)
}

// At is the budget as it stands at t: what was used in the period containing t, counted
// from that period's start, and its extension only while it lasts. The sentence of a
// denial (String(From)) then tells the numbers the decision at t was made on, not an
// extension that has run out or an earlier month's use.
func (b Budget) At(t time.Time) Budget {
	b.Used, b.From = b.UsedAt(t), b.Period.Start(t)
	if !t.Before(b.ExtraUntil) {
		b.Extra, b.ExtraUntil = 0, time.Time{}
	}
	return b
}

// OverBudget returns, as it stands at t, the first budget of bs that a new charge of rate
// tokens for user and product at t would take beyond its cap.
func OverBudget(bs []Budget, user, product string, rate int64, t time.Time) (Budget, bool) {
	for _, b := range bs {
		if b.Applies(user, product) && b.UsedAt(t)+rate > b.Limit(t) {
			return b.At(t), true
		}
	}
	return Budget{}, false
}

// Spend counts n tokens of user for product at t against every budget they apply to, as
// a device does with what it spent since its snapshot.
func Spend(bs []Budget, user, product string, n int64, t time.Time) []Budget {
	out := make([]Budget, len(bs))
	for i, b := range bs {
		if b.Applies(user, product) {
			if s := b.Period.Start(t); !s.Equal(b.From) && s.After(b.From) {
				b.From, b.Used = s, 0
			}
			if b.Period.Start(t).Equal(b.From) {
				b.Used += n
			}
		}
		out[i] = b
	}
	return out
}

// BudgetLevel is the highest share of a cap at which admins are told (rule 13) that used
// of limit has reached: 0, 80 or 100.
func BudgetLevel(used, limit int64) int64 {
	switch {
	case used >= limit:
		return 100
	case used*100 >= 80*limit:
		return 80
	}
	return 0
}

// Renews reports whether the caps let a running session of product renew for rate tokens
// at t. A renewal they do not let through follows renewal_when_empty, as one the balance
// cannot pay: under overdraw it is charged anyway (the ledger's 100 % notice tells the
// admins), under close the user is warned and the product closed.
func (e Entitlement) Renews(product string, rate int64, at time.Time) bool {
	_, over := OverBudget(e.Budgets, e.User, product, rate, at)
	return !over
}
