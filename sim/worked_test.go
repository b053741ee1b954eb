package sim_test

import (
	"strings"
	"testing"

	"tollgate/sim"
)

// The worked cases of charging.md, each through a whole timeline, with its numbers.

const catalogue = `
products:
  - {id: revit, name: Revit, rate: 10}
  - {id: autocad, name: AutoCAD, rate: 7}
`

const studio = catalogue + "teams: [{id: studio}]\n"

func simulate(t *testing.T, doc string) *sim.Result {
	t.Helper()
	tl, err := sim.Parse("case.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(tl)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func accepted(res *sim.Result) (n int, tokens int64) {
	for _, c := range res.Charges {
		if c.Status == "accepted" {
			n++
			tokens += c.Debited
		}
	}
	return n, tokens
}

func has(res *sim.Result, kind, text string) bool {
	for _, l := range res.Lines {
		if l.Kind == kind && strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

func TestWorkedCases(t *testing.T) {
	tests := []struct {
		name        string
		doc         string
		wantCharges int
		wantTokens  int64
		wantUser    map[string]int64
		wantLine    [2]string // kind, text: a line the admin would look for
	}{
		{
			name: "Mary's AutoCAD subscription costs nothing, Revit costs its rate",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users:
  - {id: mary, team: studio, subscriptions: [{product: autocad, from: 2026-01-01, until: 2027-01-01}]}
events:
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: autocad}
  - {at: 2026-11-02T17:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantCharges: 1, wantTokens: 10, wantUser: map[string]int64{"mary": 10},
			wantLine: [2]string{"opened", "AutoCAD: covered by a subscription"},
		},
		{
			name: "Revit opened by mistake, closed after 3 minutes: 0 tokens",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:03:00Z, device: ws1, user: mary, end: revit}
`,
			wantCharges: 0, wantTokens: 0,
			wantLine: [2]string{"released", "within grace, hold of 10 tokens released"},
		},
		{
			name: "Revit Monday 08:00-09:00, reopened Tuesday 07:00: one charge",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T07:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T07:59:00Z, device: ws1, user: mary, end: revit}
`,
			wantCharges: 1, wantTokens: 10,
			wantLine: [2]string{"opened", "inside a window paid until Tue 2026-11-03 08:00"},
		},
		{
			name: "still open at Tuesday 08:00: a second charge then",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T07:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T09:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantCharges: 2, wantTokens: 20,
			wantLine: [2]string{"charged", "window renewed): window Tue 2026-11-03 08:00 to Wed 2026-11-04 08:00"},
		},
		{
			name: "Revit Monday 19:00 to Tuesday 17:00: one charge",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T19:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T17:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantCharges: 1, wantTokens: 10,
		},
		{
			name: "Revit and AutoCAD both used on Monday: 17 tokens",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T11:00:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-02T12:00:00Z, device: ws1, user: mary, end: autocad}
`,
			wantCharges: 2, wantTokens: 17, wantUser: map[string]int64{"mary": 17},
		},
		{
			name: "5 tokens left: Revit blocked; after a 100-token pack, allowed",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, left: 5, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:30:00Z, buy: {id: p2, team: studio, tokens: 100}}
  - {at: 2026-11-02T09:31:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
`,
			wantCharges: 1, wantTokens: 10,
			wantLine: [2]string{"denied", `mary was refused Revit: "A day of Revit costs 10 tokens and your team has 5 left."`},
		},
		{
			name: "a 99-token order is refused",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T09:30:00Z, buy: {id: p2, team: studio, tokens: 99}}
`,
			wantLine: [2]string{"refused", "99 tokens ordered, packs start at 100"},
		},
		{
			name: "a pack bought 2025-11-01 is unusable from 2026-11-01",
			doc: studio + `
packs: [{id: p1, team: studio, tokens: 100, bought: 2025-11-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-10-31T23:50:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-10-31T23:56:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-01T00:00:00Z, device: ws1, user: mary, start: autocad}
`,
			wantCharges: 1, wantTokens: 10,
			wantLine: [2]string{"forfeited", "pack p1 of team studio expired with 90 tokens unused"},
		},
		{
			name: "moving 40 of a pack's 60 is refused; moving the pack moves 60",
			doc: catalogue + `
teams: [{id: studio}, {id: branch}]
packs: [{id: p1, team: studio, tokens: 100, left: 60, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T09:00:00Z, transfer: {pack: p1, to: branch, tokens: 40}}
  - {at: 2026-11-02T09:01:00Z, transfer: {pack: p1, to: branch}}
`,
			wantLine: [2]string{"transferred", "pack p1 moved from team studio to team branch with its 60 tokens left"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, tt.doc)
			n, tokens := accepted(res)
			if n != tt.wantCharges || tokens != tt.wantTokens {
				t.Errorf("got %d charges for %d tokens, want %d for %d", n, tokens, tt.wantCharges, tt.wantTokens)
			}
			for u, want := range tt.wantUser {
				if got := res.Users[u]; got != want {
					t.Errorf("got %d tokens for %s, want %d", got, u, want)
				}
			}
			if tt.wantLine[0] != "" && !has(res, tt.wantLine[0], tt.wantLine[1]) {
				t.Errorf("got no %s line containing %q; lines:\n%s", tt.wantLine[0], tt.wantLine[1], dump(res))
			}
		})
	}
}

func dump(res *sim.Result) string {
	var b strings.Builder
	for _, l := range res.Lines {
		b.WriteString(l.At.Format("01-02 15:04:05 ") + l.Kind + ": " + l.Text + "\n")
	}
	return b.String()
}

func parse(doc string) (*sim.Timeline, error) { return sim.Parse("case.yaml", []byte(doc)) }
