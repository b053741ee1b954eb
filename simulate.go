package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"tollgate/cli"
	"tollgate/sim"
)

func simulateCommand() *cli.Command {
	asJSON := new(bool)
	return &cli.Command{
		Name: "simulate", Summary: "replay a usage timeline and print what it would cost in tokens",
		Usage: "FILE [--json]",
		Help: `Replays a usage timeline (YAML; see docs/simulate.md) through the charging rules and prints every
decision, charge, window, hold release, forfeiture and notice, then the tokens per user, per
product and per team, and each team's balance.`,
		Args:  cli.Exactly(1, "takes one timeline file"),
		Flags: func(fs *flag.FlagSet) { fs.BoolVar(asJSON, "json", false, "print the result as JSON") },
		Run: func(ctx context.Context, e cli.Env, pos []string) error {
			return runSimulate(ctx, envOf(e), pos, asJSON)
		},
	}
}

func runSimulate(_ context.Context, e env, pos []string, asJSON *bool) error {
	file := pos[0]
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	tl, err := sim.Parse(file, data)
	if err != nil {
		return err
	}
	res, err := sim.Run(tl)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printResult(e.stdout, res)
	return nil
}

func printResult(w io.Writer, res *sim.Result) {
	// One width for the device column, and milliseconds only when a time has them, so
	// that the columns stay put and a boundary such as 4m59.999s shows.
	width, layout := 1, "2006-01-02 15:04:05"
	for _, l := range res.Lines {
		width = max(width, len(l.Device))
		if l.At.Nanosecond() != 0 {
			layout = "2006-01-02 15:04:05.000"
		}
	}
	indent := strings.Repeat(" ", len(layout)+2+width+1)
	// A session's end is known only after its 10-second merge gap, so the simulator may
	// report it after something that happened during the gap; a reader wants time order.
	lines := slices.Clone(res.Lines)
	slices.SortStableFunc(lines, func(a, b sim.Line) int { return a.At.Compare(b.At) })
	for _, l := range lines {
		dev := l.Device
		if dev == "" {
			dev = "-"
		}
		fmt.Fprintf(w, "%s  %-*s %s\n", l.At.UTC().Format(layout), width, dev, l.Text)
		for _, d := range l.Details {
			fmt.Fprintf(w, "%s  %s\n", indent, d)
		}
	}
	section := func(title string, m map[string]int64) {
		rows := [][]string{{title, "tokens"}}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			rows = append(rows, []string{k, strconv.FormatInt(m[k], 10)})
		}
		table(w, rows)
	}
	section("user", res.Users)
	section("product", res.Prods)
	rows := [][]string{{"team", "spent", "available", "unexpired", "held", "debt", "forfeited"}}
	for _, b := range res.Teams {
		rows = append(rows, []string{b.Team})
		for _, n := range []int64{b.Spent, b.Available, b.Unexpired, b.Held, b.Debt, b.Forfeited} {
			rows[len(rows)-1] = append(rows[len(rows)-1], strconv.FormatInt(n, 10))
		}
	}
	table(w, rows)
	fmt.Fprint(w, `
unexpired: tokens left in packs that have not expired.
available: what a new launch can count on: unexpired less held (set aside for sessions in
           grace) and debt (renewals overdrawn, paid by the next pack).
forfeited: tokens left in packs when they expired (a pack lasts one year); never refunded.
`)
	for _, b := range res.Teams {
		for _, p := range b.Expiring {
			fmt.Fprintf(w, "team %s: pack %s has %d tokens expiring on %s\n", b.Team, p.ID, p.Left, p.Expires().Format(time.DateOnly))
		}
	}
	if i := res.Idle; i.Renewals+i.Closes > 0 {
		fmt.Fprintf(w, "idle products: %d tokens spent on %s of products nobody was using; %d tokens saved by %s\n",
			i.Spent, times(i.Renewals, "renewal"), i.Saved, times(i.Closes, "idle close"))
	}
	for _, s := range res.Running {
		fmt.Fprintf(w, "still running at the end: %s's %s on %s (%s since %s)\n", s.User, s.Product, s.Device, s.State, s.Start.UTC().Format("2006-01-02 15:04"))
	}
	printAdvice(w, res)
}

// printAdvice is the ledger's advisor on the timeline, as `tollgate ledger report advisor`
// says it: one sentence per user and product, with the numbers behind it.
func printAdvice(w io.Writer, res *sim.Result) {
	if len(res.Advice) == 0 {
		return
	}
	fmt.Fprintf(w, "\nadvisor (the last 90 days of the timeline; the rule of 'tollgate ledger report advisor'):\n")
	for _, a := range res.Advice {
		fmt.Fprintf(w, "  %s, %s: %s\n", a.User, a.Product, a.Text)
	}
}

// table prints rows after a blank line: names left-aligned, numbers right-aligned.
func table(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", widths[0], c)
			} else {
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func times(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}
