package ledger

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"tollgate/cli"
	"tollgate/ledger/api"
)

// reportTeams is the teams a report covers: --team, or every team the token may see.
func (c *call) reportTeams(ctx context.Context, team string) ([]string, error) {
	if team != "" {
		return []string{team}, nil
	}
	var ts []api.Team
	if err := c.c.Do(ctx, "GET", "/v1/admin/teams", nil, &ts); err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("there are no teams yet; create one with 'tollgate ledger team create'")
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out, nil
}

func (c *call) reportPath(team, kind string, q url.Values) string {
	return "/v1/admin/teams/" + url.PathEscape(team) + "/reports/" + kind + "?" + q.Encode()
}

// report prints a usage or token report of one team, or of every team the token sees,
// as an aligned table with totals (default), JSON or CSV; --section picks a part of the
// token report in every format.
func (c *call) report(ctx context.Context, kind string, o reportOpts) error {
	if n := btoi(c.json) + btoi(o.csv) + btoi(o.jsonl); n > 1 {
		return cli.Usagef("give one of --json, --csv and --jsonl")
	}
	if kind == "tokens" && o.section != "" && !slices.Contains(sections, o.section) {
		return cli.Usagef("--section %q: want one of %s", o.section, strings.Join(sections, ", "))
	}
	teams, err := c.reportTeams(ctx, o.team)
	if err != nil {
		return err
	}
	q := url.Values{}
	if o.from != "" {
		q.Set("from", o.from)
	}
	if o.to != "" {
		q.Set("to", o.to)
	}
	if o.csv {
		return c.reportCSV(ctx, kind, o.section, teams, q)
	}
	if o.jsonl {
		return c.reportJSONL(ctx, kind, o.section, teams, q)
	}
	usage := map[string][]api.UsageRow{}
	var reps []api.TokenReport
	for _, team := range teams {
		if kind == "usage" {
			var rows []api.UsageRow
			if err := c.c.Do(ctx, "GET", c.reportPath(team, kind, q), nil, &rows); err != nil {
				return fmt.Errorf("team %s: %w", team, err)
			}
			usage[team] = rows
			continue
		}
		var rep api.TokenReport
		if err := c.c.Do(ctx, "GET", c.reportPath(team, kind, q), nil, &rep); err != nil {
			return fmt.Errorf("team %s: %w", team, err)
		}
		reps = append(reps, rep)
	}
	if c.json {
		var v any = usage
		if o.team != "" {
			v = usage[o.team]
		}
		if kind == "tokens" {
			v = tokenJSON(reps, o.section, o.team != "")
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	if kind == "usage" {
		usageTable(tw, teams, usage)
	} else {
		tokenTables(tw, reps, o.section)
	}
	return tw.Flush()
}

// tokenJSON is the token report's JSON: the whole report, or one section; one team's as
// an object, several teams' as a list.
func tokenJSON(reps []api.TokenReport, section string, one bool) any {
	pick := func(r api.TokenReport) any {
		switch section {
		case "daily":
			return r.Daily
		case "history":
			return r.History
		case "packs":
			return r.Packs
		case "expiring":
			return r.Expiring
		case "refused":
			return r.Refused
		case "idle":
			return r.Idle
		}
		return r
	}
	if one {
		return pick(reps[0])
	}
	if section == "" {
		return reps
	}
	out := map[string]any{}
	for _, r := range reps {
		out[r.Team] = pick(r)
	}
	return out
}

func usageTable(w io.Writer, teams []string, usage map[string][]api.UsageRow) {
	fmt.Fprintln(w, "DAY\tTEAM\tUSER\tPRODUCT\tDEVICE\tSESSIONS\tDENIED\tUSE\tCHARGES\tTOKENS\t")
	var t api.UsageRow
	for _, team := range teams {
		for _, u := range usage[team] {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%d\t\n", u.Day, team, u.User, u.Product, u.Device, u.Sessions, u.Denied, hours(u.UseSeconds), u.Charges, u.Tokens)
			t.Sessions += u.Sessions
			t.Denied += u.Denied
			t.UseSeconds += u.UseSeconds
			t.Charges += u.Charges
			t.Tokens += u.Tokens
		}
	}
	fmt.Fprintf(w, "TOTAL\t\t\t\t\t%d\t%d\t%s\t%d\t%d\t\n", t.Sessions, t.Denied, hours(t.UseSeconds), t.Charges, t.Tokens)
}

// hours shows a use in hours and minutes: 5h03m.
func hours(sec int64) string {
	d := time.Duration(sec) * time.Second
	return fmt.Sprintf("%dh%02dm", int64(d.Hours()), int64(d.Minutes())%60)
}

func tokenTables(w io.Writer, reps []api.TokenReport, section string) {
	want := func(s string) bool { return section == "" || section == s }
	if section == "" {
		fmt.Fprintln(w, "TEAM\tAVAILABLE\tHELD\tDEBT\tUNEXPIRED\t")
		var t api.Balance
		for _, r := range reps {
			b := r.Balance
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t\n", r.Team, b.Available, b.Held, b.Debt, b.Unexpired)
			t.Available, t.Held, t.Debt, t.Unexpired = t.Available+b.Available, t.Held+b.Held, t.Debt+b.Debt, t.Unexpired+b.Unexpired
		}
		fmt.Fprintf(w, "TOTAL\t%d\t%d\t%d\t%d\t\n", t.Available, t.Held, t.Debt, t.Unexpired)
	}
	if want("daily") {
		heading(w, section, "Tokens per day, user and product")
		fmt.Fprintln(w, "DAY\tTEAM\tUSER\tPRODUCT\tCHARGES\tTOKENS\t")
		var charges, tokens int64
		for _, r := range reps {
			for _, d := range r.Daily {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t\n", d.Day, d.Team, d.User, d.Product, d.Charges, d.Tokens)
				charges, tokens = charges+d.Charges, tokens+d.Tokens
			}
		}
		fmt.Fprintf(w, "TOTAL\t\t\t\t%d\t%d\t\n", charges, tokens)
	}
	if want("history") {
		heading(w, section, "Balance history")
		fmt.Fprintln(w, "AT\tTEAM\tKIND\tTOKENS\tDEBT\tBALANCE\tPACK\tREF")
		for _, r := range reps {
			for _, m := range r.History {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", m.At.Format(time.RFC3339), m.Team, m.Kind, m.Tokens, m.Debt, m.Balance, m.Pack, m.Ref)
			}
		}
	}
	for _, s := range []string{"packs", "expiring"} {
		if !want(s) {
			continue
		}
		title := "Packs"
		if s == "expiring" {
			title = "Tokens expiring within 90 days"
		}
		heading(w, section, title)
		fmt.Fprintln(w, "PACK\tTEAM\tTOKENS\tLEFT\tBOUGHT\tEXPIRES\t")
		var tokens, left int64
		for _, r := range reps {
			ps := r.Packs
			if s == "expiring" {
				ps = r.Expiring
			}
			for _, p := range ps {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t\n", p.ID, p.Team, p.Tokens, p.Left, p.Bought.Format(time.DateOnly), p.Expires.Format(time.DateOnly))
				tokens, left = tokens+p.Tokens, left+p.Left
			}
		}
		fmt.Fprintf(w, "TOTAL\t\t%d\t%d\t\t\t\n", tokens, left)
	}
	if want("idle") {
		idleTable(w, reps, section)
	}
	if want("refused") {
		heading(w, section, "Charges not debited")
		fmt.Fprintln(w, "AT\tTEAM\tDEVICE\tUSER\tPRODUCT\tTOKENS\tSTATUS\tMESSAGE")
		for _, r := range reps {
			for _, x := range r.Refused {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", x.At.Format(time.RFC3339), r.Team, x.Device, x.User, x.Product, x.Tokens, x.Status, x.Message)
			}
		}
	}
}

// idleTable is what products nobody used cost, and what closing them saved.
func idleTable(w io.Writer, reps []api.TokenReport, section string) {
	heading(w, section, "Idle products: renewals charged while nobody used them, and saved by closing them")
	fmt.Fprintln(w, "DAY\tTEAM\tUSER\tPRODUCT\tIDLE RENEWALS\tTOKENS SPENT\tIDLE CLOSES\tTOKENS SAVED\t")
	var t api.IdleDay
	for _, r := range reps {
		for _, d := range r.Idle {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n", d.Day, d.Team, d.User, d.Product, d.IdleRenewals, d.IdleTokens, d.IdleCloses, d.SavedTokens)
			t.IdleRenewals, t.IdleTokens, t.IdleCloses, t.SavedTokens = t.IdleRenewals+d.IdleRenewals, t.IdleTokens+d.IdleTokens, t.IdleCloses+d.IdleCloses, t.SavedTokens+d.SavedTokens
		}
	}
	fmt.Fprintf(w, "TOTAL\t\t\t\t%d\t%d\t%d\t%d\t\n", t.IdleRenewals, t.IdleTokens, t.IdleCloses, t.SavedTokens)
}

func heading(w io.Writer, section, title string) {
	if section == "" {
		fmt.Fprintf(w, "\n%s\n", title)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reportCSV prints the server's CSV as it arrives; over several teams, one header and a
// team column where the section has none.
func (c *call) reportCSV(ctx context.Context, kind, section string, teams []string, q url.Values) error {
	q.Set("format", "csv")
	if kind == "tokens" && section != "" {
		q.Set("section", section)
	}
	out := csv.NewWriter(c.stdout)
	for i, team := range teams {
		body, err := c.c.Stream(ctx, c.reportPath(team, kind, q))
		if err != nil {
			return fmt.Errorf("team %s: %w", team, err)
		}
		if len(teams) == 1 {
			_, err = io.Copy(c.stdout, body)
			body.Close()
			if err != nil {
				return fmt.Errorf("team %s: the ledger's CSV was cut short: %w; ask again", team, err)
			}
			return nil
		}
		err = teamCSV(out, body, team, i == 0)
		body.Close()
		if err != nil {
			return fmt.Errorf("team %s: the ledger's CSV: %w", team, err)
		}
	}
	out.Flush()
	return out.Error()
}

// teamCSV copies one team's CSV record by record, its header only when first, with a
// team column in front when the section has none.
func teamCSV(out *csv.Writer, in io.Reader, team string, first bool) error {
	r := csv.NewReader(in)
	head, err := r.Read()
	if err != nil {
		return err
	}
	add := !slices.Contains(head, "team")
	row := func(cell string, rec []string) []string {
		if add {
			return append([]string{cell}, rec...)
		}
		return rec
	}
	if first {
		out.Write(row("team", head))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		out.Write(row(team, rec))
	}
}

// reportJSONL prints a section of the token report as JSON lines as they arrive, team
// after team.
func (c *call) reportJSONL(ctx context.Context, kind, section string, teams []string, q url.Values) error {
	if kind != "tokens" {
		return cli.Usagef("--jsonl is for the token report; use --json or --csv")
	}
	q.Set("format", "jsonl")
	if section != "" {
		q.Set("section", section)
	}
	for _, team := range teams {
		body, err := c.c.Stream(ctx, c.reportPath(team, kind, q))
		if err != nil {
			return fmt.Errorf("team %s: %w", team, err)
		}
		_, err = io.Copy(c.stdout, body)
		body.Close()
		if err != nil {
			return fmt.Errorf("team %s: the ledger's report was cut short: %w; ask again", team, err)
		}
	}
	return nil
}
