package sim_test

import (
	"testing"
)

// TestWorkedCasesCaps: the budget worked cases of charging.md (rule 13), each through a
// whole timeline, with its numbers.
func TestWorkedCasesCaps(t *testing.T) {
	const people = studio + `
packs: [{id: p1, team: studio, tokens: 1000, bought: 2026-10-01}]
users: [{id: mary, team: studio}, {id: john, team: studio}, {id: ann, team: studio}]
`
	// day is Mary's Revit on day d of November 2026, 09:00 to 17:00.
	day := func(d string) string {
		return "  - {at: 2026-11-" + d + "T09:00:00Z, device: ws1, user: mary, start: revit}\n" +
			"  - {at: 2026-11-" + d + "T17:00:00Z, device: ws1, user: mary, end: revit}\n"
	}
	tests := []struct {
		name      string
		doc       string
		wantUser  map[string]int64
		wantLines [][2]string // kind, text: lines the admin would look for
		noLines   [][2]string // lines that must not be there
	}{
		{
			name: "Mary's month cap of 80: refused at 80, John not; an extension lets one day in; refused again until the 1st",
			doc: people + `
events:
  - {at: 2026-11-01T00:00:00Z, budget: {user: mary, period: month, tokens: 80}}
` + day("02") + day("03") + day("04") + day("05") + day("06") + day("09") + day("10") + day("11") + `
  - {at: 2026-11-12T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-12T09:00:00Z, device: ws2, user: john, start: revit}
  - {at: 2026-11-12T10:00:00Z, budget: {user: mary, period: month, tokens: 80, extra: 10, until: 2026-11-13T00:00:00Z}}
  - {at: 2026-11-12T10:30:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-12T17:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-12T17:00:00Z, device: ws2, user: john, end: revit}
  - {at: 2026-11-16T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-12-01T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-12-01T17:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantUser: map[string]int64{"mary": 100, "john": 10},
			wantLines: [][2]string{
				{"denied", `mary was refused Revit: "You have used 80 of your 80 tokens this month, and a day of Revit costs 10 more. Ask your administrator to raise the cap or grant an extension."`},
				{"charged", "john charged 10 tokens for Revit"},
				{"charged", "mary charged 10 tokens for Revit (grace used up: 5 minutes of use): window Thu 2026-11-12 10:30"},
				{"denied", `mary was refused Revit: "You have used 90 of your 80 tokens this month`},
				{"charged", "window Tue 2026-12-01 09:00"},
			},
		},
		{
			name: "a team cap of 20 a day: two Revits fill it, AutoCAD refused that day",
			doc: people + `
events:
  - {at: 2026-11-02T00:00:00Z, budget: {team: studio, period: day, tokens: 20}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: ws2, user: john, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws3, user: ann, start: autocad}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T17:00:00Z, device: ws2, user: john, end: revit}
`,
			wantUser: map[string]int64{"mary": 10, "john": 10},
			wantLines: [][2]string{
				{"denied", `ann was refused AutoCAD: "Your team has used 20 of its 20 tokens today, and a day of AutoCAD costs 7 more.`},
			},
		},
		{
			name: "renewal past a month cap under overdraw: charged past it",
			doc: people + `
events:
  - {at: 2026-11-02T00:00:00Z, budget: {user: mary, period: month, tokens: 10}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T12:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantUser:  map[string]int64{"mary": 20},
			wantLines: [][2]string{{"charged", "mary charged 10 tokens for Revit (window renewed)"}},
		},
		{
			name: "renewal past a month cap under close: warned with the numbers, closed",
			doc: people + `
policy: {renewal_when_empty: close, close_after: 15m}
events:
  - {at: 2026-11-02T00:00:00Z, budget: {user: mary, period: month, tokens: 10}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T12:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantUser: map[string]int64{"mary": 10},
			wantLines: [][2]string{
				{"closing", `would pass a cap ("You have used 10 of your 10 tokens this month, and a day of Revit costs 10 more.`},
				{"close", "mary's Revit was closed: renewing it would pass a cap"},
			},
			noLines: [][2]string{{"charged", "window renewed"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, tt.doc)
			for u, want := range tt.wantUser {
				if got := res.Users[u]; got != want {
					t.Errorf("got %d tokens for %s, want %d", got, u, want)
				}
			}
			for u, got := range res.Users {
				if _, ok := tt.wantUser[u]; !ok && got != 0 {
					t.Errorf("got %d tokens for %s, want 0", got, u)
				}
			}
			for _, l := range tt.wantLines {
				if !has(res, l[0], l[1]) {
					t.Errorf("got no %s line with %q; lines:\n%s", l[0], l[1], lines(res))
				}
			}
			for _, l := range tt.noLines {
				if has(res, l[0], l[1]) {
					t.Errorf("got a %s line with %q, want none; lines:\n%s", l[0], l[1], lines(res))
				}
			}
		})
	}
}
