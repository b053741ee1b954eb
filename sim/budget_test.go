package sim_test

import (
	"strings"
	"testing"

	"tollgate/sim"
)

// TestBudgets: caps (rule 13) in timelines, decided as the ledger and the agent decide
// them: a launch past a cap is refused with its numbers, a renewal past one follows
// renewal_when_empty, a device offline counts what it spent since its snapshot.
func TestBudgets(t *testing.T) {
	const people = studio + `
packs: [{id: p1, team: studio, tokens: 1000, bought: 2026-10-01}]
users: [{id: mary, team: studio}, {id: john, team: studio}]
`
	tests := []struct {
		name       string
		doc        string
		wantTokens int64
		wantLine   [2]string // kind, text
	}{
		{
			name: "a user's day cap refuses her second product but not a colleague",
			doc: people + `
events:
  - {at: 2026-11-02T08:00:00Z, budget: {user: mary, period: day, tokens: 10}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:10:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-02T09:10:00Z, device: ws2, user: john, start: autocad}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T17:00:00Z, device: ws2, user: john, end: autocad}
`,
			wantTokens: 17,
			wantLine:   [2]string{"denied", `mary was refused AutoCAD: "You have used 10 of your 10 tokens today, and a day of AutoCAD costs 7 more.`},
		},
		{
			name: "the day cap starts over at midnight UTC",
			doc: people + `
events:
  - {at: 2026-11-02T08:00:00Z, budget: {user: mary, period: day, tokens: 10}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T09:00:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-03T17:00:00Z, device: ws1, user: mary, end: autocad}
`,
			wantTokens: 17,
			wantLine:   [2]string{"charged", "mary charged 7 tokens for AutoCAD"},
		},
		{
			name: "an extension lets the launch through",
			doc: people + `
events:
  - {at: 2026-11-02T08:00:00Z, budget: {user: mary, period: month, tokens: 10, extra: 7, until: 2026-11-03T00:00:00Z}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:10:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: autocad}
`,
			wantTokens: 17,
			wantLine:   [2]string{"budget", "user mary may start at most 10 tokens of charges a month, 17 until"},
		},
		{
			name: "a renewal past a product cap closes under close",
			doc: people + `
policy: {renewal_when_empty: close, close_after: 15m}
events:
  - {at: 2026-11-02T08:00:00Z, budget: {team: studio, product: revit, period: month, tokens: 15}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-04T09:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantTokens: 10,
			wantLine:   [2]string{"close", `mary's Revit was closed: renewing it would pass a cap ("Your team has used 10 of its 15 tokens for revit this month, and a day of Revit costs 10 more.`},
		},
		{
			name: "a renewal past a cap is charged under overdraw",
			doc: people + `
events:
  - {at: 2026-11-02T08:00:00Z, budget: {team: studio, period: month, tokens: 15}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T10:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantTokens: 20,
			wantLine:   [2]string{"charged", "window renewed"},
		},
		{
			name: "offline, the device counts its own charges against the cap",
			doc: people + `
events:
  - {at: 2026-11-02T08:00:00Z, budget: {user: mary, period: month, tokens: 15}}
  - {at: 2026-11-02T08:30:00Z, device: ws1, offline: true}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:10:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T18:00:00Z, device: ws1, online: true}
`,
			wantTokens: 10,
			wantLine:   [2]string{"denied", `mary was refused AutoCAD: "You have used 10 of your 15 tokens this month, and a day of AutoCAD costs 7 more.`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, tt.doc)
			if _, got := accepted(res); got != tt.wantTokens {
				t.Errorf("got %d tokens charged, want %d", got, tt.wantTokens)
			}
			if !has(res, tt.wantLine[0], tt.wantLine[1]) {
				t.Errorf("got no %s line with %q; lines:\n%s", tt.wantLine[0], tt.wantLine[1], lines(res))
			}
		})
	}
}

func TestBudgetEventErrors(t *testing.T) {
	tests := []struct{ event, want string }{
		{"{budget: {user: mary, period: week, tokens: 10}}", `period "week": want day or month`},
		{"{budget: {user: mary, product: revit, period: day, tokens: 10}}", "not both"},
		{"{budget: {period: day, tokens: 10}}", "missing team"},
		{"{budget: {user: mary, period: day, tokens: -1}}", "a cap is 0 to"},
		{"{budget: {user: mary, period: day, tokens: 10, extra: 5}}", "needs an until"},
	}
	for _, tt := range tests {
		doc := studio + "users: [{id: mary, team: studio}]\nevents:\n  - " + strings.Replace(tt.event, "{", "{at: 2026-11-02T08:00:00Z, ", 1) + "\n"
		_, err := sim.Parse("case.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error saying %q", tt.event, err, tt.want)
		}
	}
}

func lines(res *sim.Result) string {
	var b strings.Builder
	for _, l := range res.Lines {
		b.WriteString(l.Kind + ": " + l.Text + "\n")
	}
	return b.String()
}
