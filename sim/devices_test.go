package sim_test

import (
	"strings"
	"testing"
)

func TestAcrossDevices(t *testing.T) {
	tests := []struct {
		name        string
		events      string
		wantCharges int
		wantTokens  int64
		wantStatus  map[string]int
		wantLine    [2]string
	}{
		{
			name: "Mary's window paid on her desktop covers her laptop",
			events: `
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T12:00:00Z, device: desktop, user: mary, end: revit}
  - {at: 2026-11-02T18:00:00Z, device: laptop, user: mary, start: revit}
  - {at: 2026-11-02T20:00:00Z, device: laptop, user: mary, end: revit}
`,
			wantCharges: 1, wantTokens: 10,
			wantLine: [2]string{"opened", "inside a window paid until Tue 2026-11-03 08:00"},
		},
		{
			name: "two devices that both charged while offline end with one debit",
			events: `
  - {at: 2026-11-02T07:00:00Z, device: desktop, offline: true}
  - {at: 2026-11-02T07:00:00Z, device: laptop, offline: true}
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T08:30:00Z, device: laptop, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: desktop, user: mary, end: revit}
  - {at: 2026-11-02T09:00:00Z, device: laptop, user: mary, end: revit}
  - {at: 2026-11-02T10:00:00Z, device: laptop, online: true}
  - {at: 2026-11-02T11:00:00Z, device: desktop, online: true}
`,
			wantCharges: 1, wantTokens: 10, wantStatus: map[string]int{"accepted": 1, "folded": 1},
			wantLine: [2]string{"folded", "folded mary's Revit charge into the window Mon 2026-11-02 08:30"},
		},
		{
			name: "the same window renewed on two devices is charged once",
			events: `
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: laptop, user: mary, start: revit}
  - {at: 2026-11-03T09:00:00Z, device: desktop, user: mary, end: revit}
  - {at: 2026-11-03T09:00:00Z, device: laptop, user: mary, end: revit}
`,
			wantCharges: 2, wantTokens: 20, wantStatus: map[string]int{"accepted": 2, "duplicate": 1},
			wantLine: [2]string{"duplicate", "refused a duplicate charge for mary's Revit window Tue 2026-11-03 08:00"},
		},
		{
			name: "offline past the allowance: new charged launches are denied",
			events: `
  - {at: 2026-11-02T07:00:00Z, device: laptop, offline: true}
  - {at: 2026-11-03T07:00:01Z, device: laptop, user: mary, start: revit}
`,
			wantLine: [2]string{"denied", "has not reached the licence server for 24 hours"},
		},
		{
			name: "a clock moved back during grace, offline, reopens nothing",
			events: `
  - {at: 2026-11-02T07:00:00Z, device: desktop, offline: true}
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T08:04:00Z, device: desktop, clock: -3h}
  - {at: 2026-11-02T08:06:00Z, device: desktop, user: mary, end: revit}
  - {at: 2026-11-02T09:00:00Z, device: desktop, online: true}
`,
			wantCharges: 1, wantTokens: 10,
			wantLine: [2]string{"rollback", "clock went back from Mon 2026-11-02 08:04 to Mon 2026-11-02 05:04"},
		},
		{
			name: "sleep does not count as use",
			events: `
  - {at: 2026-11-02T17:00:00Z, device: laptop, user: mary, start: revit}
  - {at: 2026-11-02T17:03:00Z, device: laptop, sleep: true}
  - {at: 2026-11-03T08:00:00Z, device: laptop, wake: true}
  - {at: 2026-11-03T08:01:00Z, device: laptop, user: mary, end: revit}
`,
			wantCharges: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, studio+`
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:`+tt.events)
			n, tokens := accepted(res)
			if n != tt.wantCharges || tokens != tt.wantTokens {
				t.Errorf("got %d charges for %d tokens, want %d for %d\n%s", n, tokens, tt.wantCharges, tt.wantTokens, dump(res))
			}
			got := map[string]int{}
			for _, c := range res.Charges {
				got[c.Status]++
			}
			for s, want := range tt.wantStatus {
				if got[s] != want {
					t.Errorf("got %d %s charges, want %d", got[s], s, want)
				}
			}
			if b := res.Teams[0]; b.Available != 100-tt.wantTokens {
				t.Errorf("got balance %d, want %d", b.Available, 100-tt.wantTokens)
			}
			if tt.wantLine[0] != "" && !has(res, tt.wantLine[0], tt.wantLine[1]) {
				t.Errorf("got no %s line containing %q; lines:\n%s", tt.wantLine[0], tt.wantLine[1], dump(res))
			}
		})
	}
}

func TestRestrictions(t *testing.T) {
	res := simulate(t, catalogue+`
  - {id: rhino, name: Rhino, rate: 5}
teams: [{id: studio, products: [revit, rhino]}]
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users:
  - {id: mary, team: studio, products: [revit]}
  - {id: li, team: studio, assigned: false}
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: li, start: revit}
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: rhino}
`)
	for _, want := range []string{
		`li was refused Revit: "You are not assigned to your team's tokens, so Revit cannot be charged to them."`,
		`mary was refused AutoCAD: "Your administrator has not allowed AutoCAD for you or your team."`,
		`mary was refused Rhino: "Your administrator has not allowed Rhino for you or your team."`,
	} {
		if !has(res, "denied", want) {
			t.Errorf("got no line %q; lines:\n%s", want, dump(res))
		}
	}
}

func TestParseErrors(t *testing.T) {
	head := studio + "users: [{id: mary, team: studio}]\n"
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "case.yaml: the file is empty"},
		{"syntax", "products: [", "case.yaml: line 1"},
		{"unknown field", studio + "userz: []\n", "field userz not found"},
		{"wrong type", catalogue + "teams: [{id: studio, threshold: {percent: lots}}]\n", "cannot unmarshal"},
		{"small pack", head + "packs: [{id: p, team: studio, tokens: 99, bought: 2026-01-01}]\nevents: [{at: 2026-01-01, device: a, user: mary, start: revit}]\n", "99 tokens ordered, packs start at 100"},
		{"unknown product", head + "events:\n  - {at: 2026-01-01, device: a, user: mary, start: maya}\n", "line 8: unknown product \"maya\"; the catalogue has revit, autocad"},
		{"out of order", head + "events:\n  - {at: 2026-01-02, device: a, user: mary, start: revit}\n  - {at: 2026-01-01, device: a, user: mary, end: revit}\n", "line 9: at 2026-01-01T00:00:00Z is before the previous event"},
		{"two actions", head + "events:\n  - {at: 2026-01-01, device: a, user: mary, start: revit, sleep: true}\n", "an event does exactly one thing"},
		{"bad time", head + "events:\n  - {at: tuesday, device: a, user: mary, start: revit}\n", `"tuesday" is not a time`},
		{"bad policy", head + "policy: {renewal_when_empty: maybe}\nevents: [{at: 2026-01-01, device: a, user: mary, start: revit}]\n", `renewal_when_empty "maybe": want "overdraw" or "close"`},
		{"no events", head, "the timeline has no events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
