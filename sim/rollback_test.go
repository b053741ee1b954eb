package sim_test

import (
	"os"
	"testing"

	"tollgate/sim"
)

// TestClockSetBackIsReported: a wall clock set back is reported once, whether the device
// is online (where it keeps the ledger's time) or offline (where its meter holds time at
// its high-water mark), and gains nobody anything either way.
func TestClockSetBackIsReported(t *testing.T) {
	tests := []struct {
		name, events string
		wantLine     string
	}{
		{"online", `
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T08:04:00Z, device: desktop, clock: -3h}
  - {at: 2026-11-02T08:06:00Z, device: desktop, user: mary, end: revit}
`, "desktop's clock went back from Mon 2026-11-02 08:04 to Mon 2026-11-02 05:04"},
		{"offline", `
  - {at: 2026-11-02T07:00:00Z, device: desktop, offline: true}
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T08:04:00Z, device: desktop, clock: -3h}
  - {at: 2026-11-02T08:06:00Z, device: desktop, user: mary, end: revit}
  - {at: 2026-11-02T09:00:00Z, device: desktop, online: true}
`, "desktop's clock went back from Mon 2026-11-02 08:04 to Mon 2026-11-02 05:04"},
		{"online, moved forward", `
  - {at: 2026-11-02T08:00:00Z, device: desktop, user: mary, start: revit}
  - {at: 2026-11-02T08:04:00Z, device: desktop, clock: 3h}
  - {at: 2026-11-02T08:06:00Z, device: desktop, user: mary, end: revit}
`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulate(t, studio+`
packs: [{id: p1, team: studio, tokens: 100, bought: 2026-10-01}]
users: [{id: mary, team: studio}]
events:`+tt.events)
			var got []string
			for _, l := range res.Lines {
				if l.Kind == "rollback" {
					got = append(got, l.Text)
				}
			}
			want := 1
			if tt.wantLine == "" {
				want = 0
			}
			if len(got) != want || want == 1 && !has(res, "rollback", tt.wantLine) {
				t.Errorf("got rollback lines %q, want %d containing %q\n%s", got, want, tt.wantLine, dump(res))
			}
			if n, tokens := accepted(res); n != 1 || tokens != 10 {
				t.Errorf("got %d charges for %d tokens, want 1 for 10: six minutes of Revit, whatever the clock says", n, tokens)
			}
		})
	}
}

// TestExampleShowsItsClockSetBack: the bundled month advertises a clock set back (Tom's
// workstation, online); the simulation shows it.
func TestExampleShowsItsClockSetBack(t *testing.T) {
	data, err := os.ReadFile("../examples/studio-month.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := sim.Parse("studio-month.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(tl)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ws-tom's clock went back from Wed 2026-11-18 10:00 to Wed 2026-11-18 08:00"; !has(res, "rollback", want) {
		t.Errorf("got no rollback line %q; lines:\n%s", want, dump(res))
	}
}
