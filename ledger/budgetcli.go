package ledger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"tollgate/charge"
	"tollgate/cli"
	"tollgate/ledger/api"
)

// budgetScope is the flags every budget verb shares: the team, and one user or product of it.
type budgetScope struct{ team, user, product string }

func (s *budgetScope) flags(fs *flag.FlagSet) {
	teamFlag(fs, &s.team)
	fs.StringVar(&s.user, "user", "", "cap one user of the team")
	fs.StringVar(&s.product, "product", "", "cap one product for the team")
}

func budgetVerbs() []*cli.Command {
	return []*cli.Command{budgetSet(), budgetList(), budgetRemove(), budgetExtend()}
}

func budgetSet() *cli.Command {
	var s budgetScope
	var day, month cli.OptInt
	var dayCost, monthCost string
	return admin(&cli.Command{Name: "set", Usage: "--team T [--user U | --product P] (--day N | --month N | --day-cost AMOUNT | --month-cost AMOUNT)",
		Summary: "cap the tokens a team, or one --user or --product of it, may start per UTC day or month",
		Args:    cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			s.flags(fs)
			fs.Var(&day, "day", "tokens per UTC day")
			fs.Var(&month, "month", "tokens per UTC calendar month")
			fs.StringVar(&dayCost, "day-cost", "", "a day's cap in the team's currency, such as 120.50: turned into tokens at its token price")
			fs.StringVar(&monthCost, "month-cost", "", "a month's cap in the team's currency: turned into tokens at its token price")
		},
	}, false, func(ctx context.Context, c *call) error {
		given := 0
		for _, g := range []bool{day.Given, month.Given, dayCost != "", monthCost != ""} {
			if g {
				given++
			}
		}
		if given != 1 {
			return cli.Usagef("give one of --day N, --month N, --day-cost AMOUNT or --month-cost AMOUNT")
		}
		b := api.SetBudget{User: s.user, Product: s.product, Period: charge.PerDay, Tokens: day.Value}
		cost := dayCost
		switch {
		case month.Given:
			b.Period, b.Tokens = charge.PerMonth, month.Value
		case monthCost != "":
			b.Period, cost = charge.PerMonth, monthCost
		}
		if cost != "" {
			m, err := api.ParseMilli(cost)
			if err != nil || m == 0 {
				return cli.Usagef("--%s-cost %q: give an amount in the team's currency, such as 120.50", b.Period, cost)
			}
			b.CostMilli = m
		}
		var out charge.Budget
		return c.show(ctx, "PUT", teamPath(s.team, "/budgets"), b, &out, func(w io.Writer) {
			fmt.Fprintf(w, "%s: at most %d tokens a %s (%d used)", out.Scope(), out.Tokens, out.Period, out.Used)
			if cost != "" {
				fmt.Fprintf(w, ": what %s buys at the team's token price, kept in tokens from now on", cost)
			}
			fmt.Fprintln(w)
		})
	})
}

func budgetList() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "list", Usage: "--team T [--json]", Summary: "list a team's caps and what is used of them",
		Args: cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var bs []charge.Budget
		return c.show(ctx, "GET", teamPath(team, "/budgets"), nil, &bs, func(w io.Writer) {
			// The money column is there when the team has a token price: the cap and
			// what is used of it at today's price (the cap itself stays in tokens).
			priced := len(bs) > 0 && bs[0].TokenMilli > 0
			fmt.Fprint(w, "CAP ON\tPERIOD\tTOKENS\tEXTRA\tUSED")
			if priced {
				fmt.Fprint(w, "\tIN MONEY")
			}
			fmt.Fprintln(w)
			for _, b := range bs {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d", b.Scope(), b.Period, b.Tokens, extraText(b), b.Used)
				if priced {
					fmt.Fprintf(w, "\t%s", b.InMoney(b.From))
				}
				fmt.Fprintln(w)
			}
		})
	})
}

func budgetRemove() *cli.Command {
	var s budgetScope
	var period string
	return admin(&cli.Command{Name: "remove", Usage: "--team T [--user U | --product P] --period day|month", Summary: "remove a cap",
		Args: cli.NoArgs, Required: []string{"team", "period"},
		Flags: func(fs *flag.FlagSet) {
			s.flags(fs)
			fs.StringVar(&period, "period", "", "day or month")
		},
	}, false, func(ctx context.Context, c *call) error {
		q := url.Values{"user": {s.user}, "product": {s.product}, "period": {period}}
		return c.show(ctx, "DELETE", teamPath(s.team, "/budgets")+"?"+q.Encode(), nil, nil, func(w io.Writer) { fmt.Fprintln(w, "removed") })
	})
}

func budgetExtend() *cli.Command {
	var s budgetScope
	var tokens int64
	var until string
	return admin(&cli.Command{Name: "extend", Usage: "--team T [--user U | --product P] --tokens N --until TIME",
		Summary: "raise a scope's caps by --tokens until --until, once",
		Args:    cli.NoArgs, Required: []string{"team", "until"},
		Flags: func(fs *flag.FlagSet) {
			s.flags(fs)
			fs.Int64Var(&tokens, "tokens", 0, "extra tokens")
			fs.StringVar(&until, "until", "", "when the extension ends, RFC 3339 or YYYY-MM-DD")
		},
	}, false, func(ctx context.Context, c *call) error {
		if tokens <= 0 {
			return cli.Usagef("--tokens must be a positive number of tokens")
		}
		end, err := parseTime(until)
		if err != nil {
			return errors.New("--until: " + err.Error())
		}
		var bs []charge.Budget
		return c.show(ctx, "POST", teamPath(s.team, "/budgets/extension"), api.ExtendBudget{User: s.user, Product: s.product, Tokens: tokens, Until: end}, &bs, func(w io.Writer) {
			for _, b := range bs {
				fmt.Fprintf(w, "%s: %d tokens a %s until %s, then %d\n", b.Scope(), b.Limit(b.ExtraUntil.Add(-1)), b.Period, b.ExtraUntil.Format(time.RFC3339), b.Tokens)
			}
		})
	})
}

func extraText(b charge.Budget) string {
	if b.Extra == 0 {
		return "-"
	}
	return fmt.Sprintf("+%d until %s", b.Extra, b.ExtraUntil.Format(time.RFC3339))
}
