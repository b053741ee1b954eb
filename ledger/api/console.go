package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Prices are a team's optional money figures: what a token costs and what a
// subscription to each product costs a month. Amounts are in thousandths of Currency,
// so that 0.125 EUR a token is exact.
type Prices struct {
	Currency      string           `json:"currency,omitempty"`
	TokenMilli    int64            `json:"token_milli,omitempty"`              // one token; 0: not set
	Subscriptions map[string]int64 `json:"subscription_month_milli,omitempty"` // product -> a month's subscription
}

// SetPrices changes a team's prices; nil fields stay. A zero amount removes the price.
type SetPrices struct {
	Currency      *string          `json:"currency,omitempty"`
	TokenMilli    *int64           `json:"token_milli,omitempty"`
	Subscriptions map[string]int64 `json:"subscription_month_milli,omitempty"`
}

// UseKey names a user's use of a product.
type UseKey struct {
	User    string `json:"user"`
	Product string `json:"product"`
}

// Verdicts of the advisor.
const (
	KeepTokens       = "keep_on_tokens"
	MoveSubscription = "move_to_subscription"
	KeepSubscription = "keep_subscription"
	MoveTokens       = "move_to_tokens"
	TooEarly         = "too_early"
	TooClose         = "too_close_to_call"
)

// Advice is the advisor's recommendation for one user's use of one product, with the
// numbers behind it. Money is in thousandths of Currency; 0 with no price set.
type Advice struct {
	User         string    `json:"user"`
	Product      string    `json:"product"`
	FirstUse     time.Time `json:"first_use"`
	ObservedDays int64     `json:"observed_days"` // days of the last 90 the figures cover
	Days         int64     `json:"days"`          // days charged (or used on a subscription) in them
	DaysPerMonth float64   `json:"days_per_month"`
	Tokens       int64     `json:"tokens"` // tokens spent (or that the subscribed days would have cost)
	Subscribed   bool      `json:"subscribed"`
	Currency     string    `json:"currency,omitempty"`
	TokensYear   int64     `json:"tokens_year_milli,omitempty"`       // a year of this use on tokens
	SubYear      int64     `json:"subscription_year_milli,omitempty"` // a year's subscription
	Savings      int64     `json:"savings_year_milli,omitempty"`      // what the verdict saves a year
	Verdict      string    `json:"verdict"`
	Text         string    `json:"text"` // the verdict as a sentence with its numbers
}

// Forecast is when a team's pool runs out at its trailing 30-day rate.
type Forecast struct {
	Team        string        `json:"team"`
	At          time.Time     `json:"at"`
	Available   int64         `json:"available"`
	Burned30    int64         `json:"burned_30d"` // tokens charged over the last 30 days
	PerDay      float64       `json:"per_day"`    // Burned30 / 30
	DaysLeft    float64       `json:"days_left"`  // -1: nothing is being spent
	RunsOut     time.Time     `json:"runs_out,omitzero"`
	Expiring    int64         `json:"expiring_before"` // tokens that expire before RunsOut (or within 90 days when none)
	Currency    string        `json:"currency,omitempty"`
	CostPerDay  int64         `json:"cost_per_day_milli,omitempty"`
	Products    []ProductDays `json:"products"`
	Explanation string        `json:"explanation"`
}

// ProductDays is how many more days of a product the available tokens buy.
type ProductDays struct {
	Product string `json:"product"`
	Name    string `json:"name"`
	Rate    int64  `json:"rate"`
	Days    int64  `json:"days"`
}

// ParseMilli reads an amount such as "1.25" as thousandths; "" is 0.
func ParseMilli(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e6 {
		return 0, fmt.Errorf("amount %q: give a number from 0 to 1000000, such as 1.25", v)
	}
	return int64(math.Round(f * 1000)), nil
}
