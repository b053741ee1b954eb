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
	"text/tabwriter"
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
	for _, l := range res.Lines {
		dev := l.Device
		if dev == "" {
			dev = "-"
		}
		fmt.Fprintf(w, "%s  %-8s %s\n", l.At.UTC().Format("2006-01-02 15:04:05"), dev, l.Text)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, m map[string]int64) {
		fmt.Fprintf(tw, "\n%s\ttokens\t\n", title)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(tw, "%s\t%d\t\n", k, m[k])
		}
	}
	section("user", res.Users)
	section("product", res.Prods)
	fmt.Fprintf(tw, "\nteam\tspent\tavailable\tunexpired\tdebt\tforfeited\t\n")
	for _, b := range res.Teams {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", b.Team, b.Spent, b.Available, b.Unexpired, b.Debt, b.Forfeited)
	}
	tw.Flush()
	for _, b := range res.Teams {
		for _, p := range b.Expiring {
			fmt.Fprintf(w, "team %s: pack %s has %d tokens expiring on %s\n", b.Team, p.ID, p.Left, p.Expires().Format(time.DateOnly))
		}
	}
	for _, s := range res.Running {
		fmt.Fprintf(w, "still running at the end: %s's %s (%s since %s)\n", s.User, s.Product, s.State, s.Start.UTC().Format("2006-01-02 15:04"))
	}
}
