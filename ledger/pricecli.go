package ledger

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"tollgate/charge"
	"tollgate/cli"
	"tollgate/ledger/api"
)

// The team's money figures from the command line, as the console's Forecast page sets
// them: a token price turns caps given in money into tokens and shows them in money too,
// and the advisor compares a year on tokens with a subscription.

func priceVerbs() []*cli.Command { return []*cli.Command{priceShow(), priceSet()} }

func priceShow() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "show", Usage: "--team T [--json]", Summary: "show a team's token and subscription prices",
		Args: cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var p api.Prices
		return c.show(ctx, "GET", teamPath(team, "/prices"), nil, &p, func(w io.Writer) { writePrices(w, p) })
	})
}

// subPrices is --subscription PRODUCT=AMOUNT, repeated.
type subPrices map[string]int64

func (s subPrices) String() string { return "" }

func (s subPrices) Set(v string) error {
	product, amount, ok := strings.Cut(v, "=")
	if !ok || product == "" {
		return fmt.Errorf("%q: write PRODUCT=AMOUNT, such as revit=250", v)
	}
	m, err := api.ParseMilli(amount)
	if err != nil {
		return err
	}
	s[product] = m
	return nil
}

func priceSet() *cli.Command {
	var team string
	var currency, token cli.OptString
	subs := subPrices{}
	return admin(&cli.Command{Name: "set", Usage: "--team T [--currency CODE] [--token-price AMOUNT] [--subscription PRODUCT=AMOUNT ...]",
		Summary: "set a team's currency, token price and subscription prices (0 removes one)",
		Args:    cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.Var(&currency, "currency", "the team's currency, a three-letter ISO 4217 code such as EUR (needed with the first price)")
			fs.Var(&token, "token-price", "what one token costs, such as 12.50; 0 removes the price")
			fs.Var(subs, "subscription", "PRODUCT=AMOUNT: a month's subscription to the product, such as revit=250; repeat for more")
		},
	}, true, func(ctx context.Context, c *call) error {
		var in api.SetPrices
		if currency.Given {
			in.Currency = &currency.Value
		}
		if token.Given {
			m, err := api.ParseMilli(token.Value)
			if err != nil {
				return cli.Usagef("--token-price: %v", err)
			}
			in.TokenMilli = &m
		}
		if len(subs) > 0 {
			in.Subscriptions = subs
		}
		if in.Currency == nil && in.TokenMilli == nil && in.Subscriptions == nil {
			return cli.Usagef("give --currency, --token-price or --subscription: what to change")
		}
		var p api.Prices
		return c.show(ctx, "PUT", teamPath(team, "/prices"), in, &p, func(w io.Writer) { writePrices(w, p) })
	})
}

func writePrices(w io.Writer, p api.Prices) {
	if p.Currency == "" {
		fmt.Fprintln(w, "no prices set: give them with 'tollgate ledger price set --team T --currency EUR --token-price 12.50'")
		return
	}
	token := "not set"
	if p.TokenMilli > 0 {
		token = charge.Money(p.TokenMilli, p.Currency)
	}
	fmt.Fprintf(w, "token\t%s\n", token)
	for _, product := range slices.Sorted(maps.Keys(p.Subscriptions)) {
		fmt.Fprintf(w, "subscription %s\t%s a month\n", product, charge.Money(p.Subscriptions[product], p.Currency))
	}
}
