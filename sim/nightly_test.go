package sim_test

import (
	"strings"
	"testing"
)

// TestNightlyClose: policy nightly_close in a timeline, as the agent runs it (rules.md
// "Nightly close"): Revit left idle at 18:00 is announced at 01:45 and closed at 02:00,
// saving Tuesday 08:00's renewal; touched at 01:50 (and told it stays open), or with no
// notifier, it runs on and renews.
func TestNightlyClose(t *testing.T) {
	const head = studio + `
policy: {nightly_close: "02:00"}
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:
  - {at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: revit}
`
	const end = "  - {at: 2026-11-03T12:00:00Z, device: ws1, user: mary, end: revit}\n"
	tests := []struct {
		name       string
		events     string
		wantTokens int64
		wantSaved  int64
		wantLines  [][2]string
		noLines    [][2]string
	}{
		{"idle from 18:00: warned at 01:45, closed at 02:00, Tuesday's renewal saved",
			"  - {at: 2026-11-02T18:00:00Z, device: ws1, user: mary, idle: true}\n" + end, 10, 10,
			[][2]string{
				{"renewing", "mary's Revit has been idle since Mon 2026-11-02 18:00: it will be closed at Tue 2026-11-03 02:00 to save 10 tokens unless touched"},
				{"close", "mary's Revit, idle since Mon 2026-11-02 18:00, was asked to close"},
				{"saved", "mary's Revit closed while idle: 10 tokens saved"},
			}, nil},
		{"touched at 01:50: not closed, renewed at 08:00",
			"  - {at: 2026-11-02T18:00:00Z, device: ws1, user: mary, idle: true}\n  - {at: 2026-11-03T01:50:00Z, device: ws1, user: mary, active: true}\n" + end, 20, 0,
			[][2]string{{"renewing", "mary's Revit is in use again: it will not be closed; still open at Tue 2026-11-03 08:00, it renews for 10 tokens"},
				{"charged", "window renewed"}},
			[][2]string{{"close", "was asked to close"}}},
		{"no notifier: never taken as idle, renewed", end, 20, 0,
			[][2]string{{"charged", "window renewed"}},
			[][2]string{{"renewing", "has been idle"}, {"close", "was asked to close"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, head+tt.events)
			if _, got := accepted(res); got != tt.wantTokens {
				t.Errorf("got %d tokens charged, want %d; lines:\n%s", got, tt.wantTokens, lines(res))
			}
			if res.Idle.Saved != tt.wantSaved {
				t.Errorf("got %d tokens saved, want %d", res.Idle.Saved, tt.wantSaved)
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
	if _, err := parse(studio + "policy: {nightly_close: \"2am\"}\nevents: [{at: 2026-11-02T08:00:00Z, device: ws1, user: mary, start: revit}]\nusers: [{id: mary, team: studio}]\n"); err == nil ||
		!strings.Contains(err.Error(), `nightly_close "2am": write a time of day as HH:MM`) {
		t.Errorf("nightly_close 2am: got %v, want it refused with the format", err)
	}
}
