package sim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/sim"
)

// TestParseErrorsNameTheLine (issue 13): every error names the line of the file and
// what to fix, for the lists (products, teams, packs, users) and for the new events.
func TestParseErrorsNameTheLine(t *testing.T) {
	head := studio + "users: [{id: mary, team: studio}]\n" // users on line 5
	ev := func(s string) string {
		return head + "events:\n  - {at: 2026-11-02T09:00:00Z, device: a, user: mary, start: revit}\n  - " + s + "\n"
	}
	tests := []struct {
		name, doc, want string
	}{
		{"pack of an unknown team", head + "packs:\n  - {id: p1, team: studio, tokens: 100}\n  - {id: p2, team: nope, tokens: 100}\nevents: [{at: 2026-11-02, device: a, user: mary, start: revit}]\n",
			`case.yaml: line 9: pack "p2": unknown team "nope"; the teams are studio`},
		{"small pack", head + "packs:\n  - {id: p1, team: studio, tokens: 99}\nevents: [{at: 2026-11-02, device: a, user: mary, start: revit}]\n",
			`case.yaml: line 8: pack "p1": order below the minimum pack: 99 tokens ordered, packs start at 100`},
		{"pack left above its tokens", head + "packs:\n  - {id: p1, team: studio, tokens: 100, left: 200}\nevents: [{at: 2026-11-02, device: a, user: mary, start: revit}]\n",
			`case.yaml: line 8: pack "p1": left 200: want 0 to 100`},
		{"product rate", "products:\n  - {id: revit, rate: 0}\nteams: [{id: studio}]\nusers: [{id: mary, team: studio}]\nevents: [{at: 2026-11-02, device: a, user: mary, start: revit}]\n",
			`case.yaml: line 2: product "revit": rate 0: a daily rate is 1 to 1000000 tokens`},
		{"team threshold", catalogue + "teams:\n  - {id: studio, threshold: {percent: 150}}\nusers: [{id: mary, team: studio}]\nevents: [{at: 2026-11-02, device: a, user: mary, start: revit}]\n",
			`case.yaml: line 6: team "studio": threshold: write {percent: 0 to 100}`},
		{"user of an unknown team", catalogue + "teams: [{id: studio}]\nusers:\n  - {id: mary, team: nope}\nevents: [{at: 2026-11-02, device: a, user: mary, start: revit}]\n",
			`case.yaml: line 7: user "mary": unknown team "nope"`},
		{"rate of an unknown product", ev("{at: 2026-11-03, rate: {product: maya, tokens: 5}}"), `case.yaml: line 9: rate: unknown product "maya"`},
		{"rate of 0", ev("{at: 2026-11-03, rate: {product: revit, tokens: 0}}"), `case.yaml: line 9: rate: tokens 0: a daily rate is 1 to 1000000 tokens`},
		{"subscribe an unknown user", ev("{at: 2026-11-03, subscribe: {user: bob, product: revit}}"), `case.yaml: line 9: subscribe: unknown user "bob"`},
		{"subscribe, until before from", ev("{at: 2026-11-03, subscribe: {user: mary, product: revit, until: 2026-11-01}}"), `case.yaml: line 9: subscribe: until 2026-11-01T00:00:00Z is not after from`},
		{"assign to an unknown team", ev("{at: 2026-11-03, assign: {user: mary, team: nope}}"), `case.yaml: line 9: assign: unknown team "nope"`},
		{"unassign without a user", ev("{at: 2026-11-03, unassign: {}}"), `case.yaml: line 9: unassign: missing user`},
		{"restrict both", ev("{at: 2026-11-03, restrict: {team: studio, user: mary, products: [revit]}}"), `case.yaml: line 9: restrict: name either a team or a user`},
		{"restrict to an unknown product", ev("{at: 2026-11-03, restrict: {user: mary, products: [maya]}}"), `case.yaml: line 9: restrict: unknown product "maya"`},
		{"threshold of an unknown team", ev("{at: 2026-11-03, threshold: {team: nope, percent: 10}}"), `case.yaml: line 9: threshold: unknown team "nope"`},
		{"report and a start at once", ev("{at: 2026-11-03, report: true, device: a, user: mary, start: revit}"), `case.yaml: line 9: an event does exactly one thing`},
		{"start without a device", ev("{at: 2026-11-03, user: mary, start: revit}"), `case.yaml: line 9: missing device`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "[") && strings.Contains(err.Error(), "]:") {
				t.Errorf("got error %v naming a list index; want the line", err)
			}
		})
	}
}

// TestBoughtIsOptional (issue 13): a pack without bought is bought as the timeline starts.
func TestBoughtIsOptional(t *testing.T) {
	tl, err := parse(studio + "packs: [{id: p1, team: studio, tokens: 100}]\nusers: [{id: mary, team: studio}]\nevents:\n  - {at: 2026-11-02T09:30:00Z, device: a, user: mary, start: revit}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tl.Packs[0].Bought.Time, time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got bought %v, want the first event's time %v", got, want)
	}
}

// TestRefusedEventsGoOn (issue 13): an event the ledger or agent refuses is reported in
// the timeline with its reason code and line, and the run goes on.
func TestRefusedEventsGoOn(t *testing.T) {
	tests := []struct {
		name, events, wantReason, wantText string
	}{
		{"order too small", "  - {at: 2026-11-02T08:00:00Z, buy: {id: p2, team: studio, tokens: 50}}\n", "order_too_small", "line 9 refused: team studio's order of pack p2"},
		{"transfer of a refused purchase", "  - {at: 2026-11-02T08:00:00Z, buy: {id: p2, team: studio, tokens: 50}}\n  - {at: 2026-11-02T08:01:00Z, transfer: {pack: p2, to: studio}}\n",
			"unknown_pack", "line 10 refused: transfer of pack p2 to team studio: its purchase was refused"},
		{"partial transfer", "  - {at: 2026-11-02T08:00:00Z, transfer: {pack: p1, to: studio, tokens: 40}}\n", "partial_transfer", "move the whole pack, not 40"},
		{"end without a start", "  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, end: revit}\n", "no_such_process", "line 9 refused: mary ends Revit on ws1, but no such process is running there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, studio+"packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]\nusers: [{id: mary, team: studio}]\nevents:\n"+tt.events+
				"  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}\n  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}\n")
			i := slices.IndexFunc(res.Lines, func(l sim.Line) bool { return l.Kind == "refused" && l.Reason == tt.wantReason })
			if i < 0 || !strings.Contains(res.Lines[i].Text, tt.wantText) {
				t.Errorf("got no refused line with reason %s and text %q; lines:\n%s", tt.wantReason, tt.wantText, dump(res))
			}
			if n, tokens := accepted(res); n != 1 || tokens != 10 {
				t.Errorf("got %d charges for %d tokens after the refusal, want 1 for 10: the run goes on", n, tokens)
			}
		})
	}
}

// TestAdminEvents (issue 13): rate, subscription, assignment, restriction and threshold
// changes, applied by the ledger's rules.
func TestAdminEvents(t *testing.T) {
	base := studio + "packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]\nusers: [{id: mary, team: studio}]\nevents:\n"
	tests := []struct {
		name, events string
		wantTokens   int64
		wantLine     [2]string
	}{
		{"a rate change applies to windows starting after it", `
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:02:00Z, rate: {product: revit, tokens: 15}}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T10:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T11:00:00Z, device: ws1, user: mary, end: revit}
`, 10 + 15, [2]string{"charged", "mary charged 15 tokens for Revit"}},
		{"a rate change does not change an offline device's snapshot", `
  - {at: 2026-11-02T08:00:00Z, device: ws1, offline: true}
  - {at: 2026-11-02T08:30:00Z, rate: {product: revit, tokens: 15}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T11:00:00Z, device: ws1, online: true}
`, 10, [2]string{"charged", "mary charged 10 tokens for Revit"}},
		{"a subscription from a later date", `
  - {at: 2026-11-02T08:00:00Z, subscribe: {user: mary, product: revit, from: 2026-11-03}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T17:00:00Z, device: ws1, user: mary, end: revit}
`, 10, [2]string{"opened", "mary opened Revit: covered by a subscription"}},
		{"unassigned: refused", `
  - {at: 2026-11-02T08:00:00Z, unassign: {user: mary}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
`, 0, [2]string{"denied", `mary was refused Revit: "You are not assigned`}},
		{"restricted user: a paid window runs on", `
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, restrict: {user: mary, products: [autocad]}}
  - {at: 2026-11-02T12:00:00Z, device: ws1, user: mary, end: revit}
`, 10, [2]string{"ended", "mary closed Revit after 3h of use"}},
		{"restriction lifted", `
  - {at: 2026-11-02T08:00:00Z, restrict: {team: studio, products: [autocad]}}
  - {at: 2026-11-02T08:30:00Z, restrict: {team: studio, products: []}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
`, 10, [2]string{"restricted", "team studio's tokens now cover every product"}},
		{"threshold lowered: no notice", `
  - {at: 2026-11-02T08:00:00Z, threshold: {team: studio, absolute: 5}}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
`, 10, [2]string{"threshold", "team studio's low-balance threshold is now 5 tokens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, base+strings.TrimPrefix(tt.events, "\n"))
			if _, tokens := accepted(res); tokens != tt.wantTokens {
				t.Errorf("got %d tokens charged, want %d; lines:\n%s", tokens, tt.wantTokens, dump(res))
			}
			if !has(res, tt.wantLine[0], tt.wantLine[1]) {
				t.Errorf("got no %s line containing %q; lines:\n%s", tt.wantLine[0], tt.wantLine[1], dump(res))
			}
			if has(res, "low_balance", "") && strings.Contains(tt.name, "no notice") {
				t.Errorf("got a low-balance notice; lines:\n%s", dump(res))
			}
		})
	}
}
