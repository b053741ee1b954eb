package sim_test

import (
	"strings"
	"testing"
)

// TestTimelineTimeRange (issue 9, item 3): a timeline's times and durations are held to
// the range the ledger accepts, 2000-01-01 to 2200-01-01, and the error says so; the
// edges themselves are accepted.
func TestTimelineTimeRange(t *testing.T) {
	head := studio + "users: [{id: mary, team: studio, subscriptions: [{product: revit, from: %FROM%, until: %UNTIL%}]}]\n"
	doc := func(from, until, at string) string {
		d := strings.NewReplacer("%FROM%", from, "%UNTIL%", until).Replace(head)
		return d + "events:\n  - {at: " + at + ", device: a, user: mary, start: revit}\n"
	}
	tests := []struct {
		name, doc, want string
	}{
		{"until 9999", doc("2026-01-01", "9999-12-31", "2026-01-02"), "from 2000-01-01 to 2200-01-01"},
		{"from 1970", doc("1970-01-01", "2026-01-01", "2026-01-02"), "from 2000-01-01 to 2200-01-01"},
		{"event in 1999", doc("2026-01-01", "2027-01-01", "1999-12-31T23:59:59Z"), "from 2000-01-01 to 2200-01-01"},
		{"clock jump of a century", doc("2026-01-01", "2027-01-01", "2026-01-02") + "  - {at: 2026-01-03, device: a, clock: 876000h}\n", "at most 9600h0m0s"},
		{"offline_max_age of a century", "policy: {offline_max_age: 876000h}\n" + doc("2026-01-01", "2027-01-01", "2026-01-02"), "at most 9600h0m0s"},
		{"the edges", doc("2000-01-01", "2200-01-01", "2000-01-01"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.doc)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %v, want the timeline accepted", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
