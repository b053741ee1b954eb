package sim_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/sim"
)

// Seeds for FuzzTimeline beside those in testdata/fuzz/FuzzTimeline: each reaches a
// different part of the simulator, so that mutations start from somewhere interesting.
var fuzzSeeds = []string{
	// The worked cases: a subscription, a paid window reopened, a renewal.
	`products:
  - {id: revit, name: Revit, rate: 10}
  - {id: autocad, name: AutoCAD, rate: 7}
teams: [{id: studio}]
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-11-01}]
users:
  - {id: mary, team: studio, subscriptions: [{product: autocad, from: 2026-01-01}]}
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T07:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-03T07:30:00Z, device: ws1, user: mary, start: autocad}
  - {at: 2026-11-03T08:30:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-03T08:30:00Z, device: ws1, user: mary, end: autocad}
`,
	// Two devices offline at once, sleep, a clock moved back, a handover.
	`policy: {offline_max_age: 24h}
products: [{id: revit, rate: 10}]
teams: [{id: studio}]
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T07:00:00Z, device: desk, offline: true}
  - {at: 2026-11-02T07:00:00Z, device: laptop, offline: true}
  - {at: 2026-11-02T08:00:00Z, device: desk, user: mary, proc: a, start: revit}
  - {at: 2026-11-02T08:30:00Z, device: laptop, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: desk, user: mary, proc: a, end: revit}
  - {at: 2026-11-02T09:00:05Z, device: desk, user: mary, proc: b, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: laptop, clock: -3h}
  - {at: 2026-11-02T12:00:00Z, device: laptop, sleep: true}
  - {at: 2026-11-02T20:00:00Z, device: laptop, wake: true}
  - {at: 2026-11-03T09:00:00Z, device: desk, online: true}
  - {at: 2026-11-03T10:00:00Z, device: laptop, online: true}
  - {at: 2026-11-03T11:00:00Z, device: desk, user: mary, proc: b, end: revit}
  - {at: 2026-11-03T11:00:00Z, device: laptop, user: mary, end: revit}
`,
	// An empty pool under the close policy, a pack bought in time, a transfer.
	`policy: {renewal_when_empty: close, close_after: 15m}
products: [{id: revit, rate: 60}]
teams: [{id: a, threshold: {absolute: 50}}, {id: b, products: [revit]}]
packs: [{id: p1, team: a, tokens: 100, bought: 2026-11-01}, {id: p2, team: b, tokens: 100, bought: 2025-11-03}]
users: [{id: tom, team: a}, {id: ben, team: b, products: ["*"]}]
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: tom, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: ws2, user: ben, start: revit}
  - {at: 2026-11-03T08:05:00Z, buy: {id: p3, team: a, tokens: 100}}
  - {at: 2026-11-03T09:00:00Z, transfer: {pack: p3, to: b}}
  - {at: 2026-11-03T12:00:00Z, device: ws1, user: tom, end: revit}
  - {at: 2026-11-04T12:00:00Z, device: ws2, user: ben, end: revit}
`,
	// The admin's events and a report, among sessions on an online and an offline device.
	`products: [{id: revit, rate: 10}, {id: cad, rate: 7}]
teams: [{id: a}, {id: b, threshold: {percent: 50}}]
packs: [{id: p1, team: a, tokens: 100}, {id: p2, team: b, tokens: 100, left: 20}]
users: [{id: tom, team: a}, {id: ben, team: b}]
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: tom, start: revit}
  - {at: 2026-11-02T08:00:00Z, device: lap, offline: true}
  - {at: 2026-11-02T08:01:00Z, device: lap, user: ben, start: cad}
  - {at: 2026-11-02T08:02:00Z, rate: {product: revit, tokens: 30}}
  - {at: 2026-11-02T08:03:00Z, restrict: {user: tom, products: [cad]}}
  - {at: 2026-11-02T08:03:00Z, report: true}
  - {at: 2026-11-02T08:04:00Z, assign: {user: ben, team: a}}
  - {at: 2026-11-02T08:05:00Z, subscribe: {user: ben, product: cad, until: 2026-11-03}}
  - {at: 2026-11-02T09:00:00Z, device: lap, online: true}
  - {at: 2026-11-02T09:00:00Z, threshold: {team: a, absolute: 99}}
  - {at: 2026-11-02T10:00:00Z, device: lap, user: ben, end: cad}
  - {at: 2026-11-02T10:00:00Z, unassign: {user: tom}}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: tom, end: revit}
  - {at: 2026-11-02T11:00:00Z, device: ws1, user: tom, end: revit}
`,
	// Not a timeline at all: Parse must say so and name the file.
	"events: [{at: yesterday}]\n",
}

// FuzzTimeline feeds bytes to Parse and, when they make a timeline of modest size, to
// Run: neither may panic or hang; Parse's errors name the file; and what Run returns
// keeps the ledger's books.
func FuzzTimeline(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for seed := range uint64(4) { // busier days, from the property test's generator
		f.Add([]byte(generate(seeded(seed), seed%2 == 1).yaml()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		tl, err := sim.Parse(name, data)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("Parse error %q does not name the file %q", err, name)
			}
			return
		}
		if len(tl.Events) == 0 {
			t.Fatal("Parse accepted a timeline without events")
		}
		first, last := tl.Events[0].At.Time, tl.Events[len(tl.Events)-1].At.Time
		if len(tl.Events) > 200 || last.Sub(first) > 400*24*time.Hour {
			return
		}
		res, err := sim.Run(tl)
		if err != nil {
			return
		}
		if bad := books(tl, res); len(bad) > 0 {
			t.Fatalf("%s\ntimeline:\n%s", strings.Join(bad, "\n"), data)
		}
	})
}

// books lists what breaks the ledger's invariants in res: one accepted charge per key,
// no two accepted windows of a (team, user, product) overlapping, the totals per user
// and per product adding up to the accepted charges, and every token of a pack usable
// when it arrived accounted for as spent, forfeited, left or owed.
func books(tl *sim.Timeline, res *sim.Result) []string {
	var bad []string
	seen := map[charge.Key]bool{}
	var windows []charge.Window
	var sum int64
	for _, c := range res.Charges {
		if c.Status != "accepted" {
			continue
		}
		if seen[c.Key] {
			bad = append(bad, fmt.Sprintf("two accepted charges for %s", c.Key))
		}
		seen[c.Key] = true
		w := charge.Window{Key: c.Key}
		if i := slices.IndexFunc(windows, func(o charge.Window) bool {
			return o.Key.Team == c.Key.Team && o.Key.User == c.Key.User && o.Key.Product == c.Key.Product && o.Overlaps(w)
		}); i >= 0 {
			bad = append(bad, fmt.Sprintf("accepted windows %s and %s overlap", windows[i].Key, c.Key))
		}
		windows = append(windows, w)
		sum += c.Debited
	}
	if s := sumOf(res.Users); s != sum {
		bad = append(bad, fmt.Sprintf("tokens per user add up to %d, accepted charges to %d", s, sum))
	}
	if s := sumOf(res.Prods); s != sum {
		bad = append(bad, fmt.Sprintf("tokens per product add up to %d, accepted charges to %d", s, sum))
	}

	start := tl.Events[0].At.Time
	var bought int64
	for _, p := range tl.Packs {
		if p.Bought.AddDate(1, 0, 0).After(start) {
			if p.Left != nil {
				bought += *p.Left
			} else {
				bought += p.Tokens
			}
		}
	}
	for _, ev := range tl.Events {
		if ev.Buy == nil {
			continue
		}
		if _, err := charge.NewPack(ev.Buy.ID, ev.Buy.Team, ev.Buy.Tokens, ev.At.Time); err != nil {
			continue // refused
		}
		b := ev.At.Time
		if !ev.Buy.Bought.IsZero() {
			b = ev.Buy.Bought.Time
		}
		if b.AddDate(1, 0, 0).After(ev.At.Time) {
			bought += ev.Buy.Tokens
		}
	}
	var spent, forfeited, left int64
	for _, b := range res.Teams {
		spent += b.Spent
		forfeited += b.Forfeited
		left += b.Unexpired - b.Debt
	}
	if spent != sum {
		bad = append(bad, fmt.Sprintf("teams spent %d, accepted charges add up to %d", spent, sum))
	}
	if bought-spent-forfeited != left {
		bad = append(bad, fmt.Sprintf("bought %d - spent %d - forfeited %d = %d, but unexpired - debt = %d",
			bought, spent, forfeited, bought-spent-forfeited, left))
	}
	return bad
}
