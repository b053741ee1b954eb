package main

import (
	"bufio"
	"bytes"
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
	out := bufio.NewWriter(e.stdout)
	if *asJSON {
		err = streamJSON(out, tl)
	} else {
		err = streamText(out, tl)
	}
	// What was printed before an error stays printed: it happened.
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// streamText prints each line as the simulator decides it, then the totals.
func streamText(w io.Writer, tl *sim.Timeline) error {
	p := newLinePrinter(tl)
	res, err := sim.RunWith(tl, sim.Options{
		Line:   func(l sim.Line) error { return p.print(w, l) },
		Charge: func(sim.Charge) error { return nil }, // the text shows charges in its lines
	})
	if err != nil {
		return err
	}
	printTotals(w, res)
	return nil
}

// linePrinter prints the timeline's lines in columns that stay put: one width for the
// device column, and milliseconds only when a time can have them, so that a boundary such
// as 4m59.999s shows. Both are known from the timeline before the first line: its longest
// device name, and whether any of its times or durations has a fraction of a second.
type linePrinter struct {
	width          int
	layout, indent string
}

func newLinePrinter(tl *sim.Timeline) linePrinter {
	p := linePrinter{width: 1, layout: "2006-01-02 15:04:05"}
	for _, ev := range tl.Events {
		p.width = max(p.width, len(ev.Device))
	}
	if tl.Subsecond() {
		p.layout = "2006-01-02 15:04:05.000"
	}
	p.indent = strings.Repeat(" ", len(p.layout)+2+p.width+1)
	return p
}

func (p linePrinter) print(w io.Writer, l sim.Line) error {
	dev := l.Device
	if dev == "" {
		dev = "-"
	}
	if _, err := fmt.Fprintf(w, "%s  %-*s %s\n", l.At.UTC().Format(p.layout), p.width, dev, l.Text); err != nil {
		return err
	}
	for _, d := range l.Details {
		if _, err := fmt.Fprintf(w, "%s  %s\n", p.indent, d); err != nil {
			return err
		}
	}
	return nil
}

// printTotals prints what follows the lines: tokens per user, product and team, packs
// expiring, idle products, what still runs, and the advisor.
func printTotals(w io.Writer, res *sim.Result) {
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

// streamJSON writes the document `encoding/json` would make of the whole sim.Result,
// indented by two spaces, byte for byte, without holding the lines or the charges: each
// line is written as the simulator decides it (in the order decided, as Result.Lines
// has them; the text sorts by time), and each charge is spooled to a temporary
// file until the lines are done (the document has all the lines before the first
// charge). The totals, teams and advice come at the end, as they are known only then.
func streamJSON(w io.Writer, tl *sim.Timeline) error {
	f, err := os.CreateTemp("", "tollgate-simulate-*.json")
	if err != nil {
		return fmt.Errorf("simulate --json keeps the charges in a temporary file until the lines are written, and could not make one (set TMPDIR to a writable directory): %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	spool := bufio.NewWriter(f)
	lines, charges := jsonArray{w: w}, jsonArray{w: spool}
	res, err := sim.RunWith(tl, sim.Options{
		Start: func(b []sim.Balance) error {
			start, err := json.MarshalIndent(b, "  ", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "{\n  \"start\": %s,\n  \"lines\": [", start)
			return err
		},
		Line:    func(l sim.Line) error { return lines.add(l) },
		Decided: true, // the order of Result.Lines, as the document always had them
		Charge:  func(c sim.Charge) error { return charges.add(c) },
	})
	if err != nil {
		return err
	}
	if err := lines.end(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, ",\n  \"charges\": ["); err != nil {
		return err
	}
	if err := spool.Flush(); err != nil {
		return fmt.Errorf("writing the charges to a temporary file: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		return err
	}
	if err := (&jsonArray{w: w, n: charges.n}).end(); err != nil {
		return err
	}
	// The rest is the document of a result without lines and charges, from after them.
	res.Lines, res.Charges = []sim.Line{}, []sim.Charge{}
	all, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	const mark = "\n  \"charges\": []"
	i := bytes.Index(all, []byte(mark))
	if i < 0 {
		return fmt.Errorf("the result's JSON has no charges list") // cannot happen: Result has one
	}
	_, err = fmt.Fprintf(w, "%s\n", all[i+len(mark):])
	return err
}

// jsonArray writes the elements of a JSON array, one level under the document's top, as
// json.Encoder with SetIndent("", "  ") would.
type jsonArray struct {
	w io.Writer
	n int
}

func (a *jsonArray) add(v any) error {
	b, err := json.MarshalIndent(v, "    ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n    "
	if a.n == 0 {
		sep = "\n    "
	}
	a.n++
	if _, err := io.WriteString(a.w, sep); err != nil {
		return err
	}
	_, err = a.w.Write(b)
	return err
}

// end closes the array: "[]" when it is empty.
func (a *jsonArray) end() error {
	s := "\n  ]"
	if a.n == 0 {
		s = "]"
	}
	_, err := io.WriteString(a.w, s)
	return err
}
