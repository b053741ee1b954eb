package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of simulate's output under testdata/simulate")

// TestSimulateGolden runs `tollgate simulate` in text and in JSON on the bundled month and
// on small timelines, one per thing issue 13 found wrong, and compares the output with
// the golden files beside them (go test -run TestSimulateGolden -update rewrites them;
// read the diff before committing). Each case also names what a reader checks in it, so
// that a golden file rewritten wrongly still fails.
func TestSimulateGolden(t *testing.T) {
	tests := []struct {
		name, file string
		wantText   []string // in the text output
		wantJSON   []string // in the JSON output
		notText    []string // not in the text output
	}{
		{name: "the studio's month", file: "../../examples/studio-month.yaml",
			wantText: []string{"where things stand at 2026-11-16T12:00:00Z", "rate of Autodesk Revit changed from 10 to 12 tokens a day",
				"charged 12 tokens for Autodesk Revit", "available: what a new launch can count on"}},
		{name: "the advisor on a quarter: hand-computed (5 days a month, 3 days a week, a new user)", file: "../../examples/advisor-quarter.yaml",
			// Ana: 15 days of Revit (10 tokens) in 90 days = 5.1 a month; 150 tokens * 365/90 * 0.50 EUR
			// = 304.17 EUR a year against 12 * 40 = 480.00 EUR. Ben: Monday, Wednesday and Friday
			// for 13 weeks = 39 days, 13.2 a month; 390 * 365/90 * 0.50 = 790.83 EUR. Cy: first
			// use 11 days before the end.
			wantText: []string{
				"ana@studio.example, revit: keep on tokens (saves 175.83 EUR a year): 5.1 days a month, 150 tokens in 90 days: 304.17 EUR a year on tokens, 480.00 EUR on a subscription",
				"ben@studio.example, revit: move to a subscription (saves 310.83 EUR a year): 13.2 days a month, 390 tokens in 90 days: 790.83 EUR a year on tokens, 480.00 EUR on a subscription",
				"cy@studio.example, revit: too early to tell: first used 2026-03-23, 11 days ago; the advisor judges after 30 days"},
			wantJSON: []string{`"verdict": "keep_on_tokens"`, `"verdict": "move_to_subscription"`, `"verdict": "too_early"`, `"savings_year_milli": 310833`}},
		{name: "a session in grace is closed once, its use printed exactly", file: "grace-close-once.yaml",
			wantText: []string{"09:04:59.999  ws1 mary closed Revit after 4m59.999s of use: within grace, hold of 10 tokens released, nothing charged"},
			notText:  []string{"5m0s", "mary closed Revit after 4m59.999s of use\n"}},
		{name: "columns stay put for long device names", file: "long-device-names.yaml",
			wantText: []string{"09:00:00  a                      mary opened", "09:00:00  design-workstation-042 tom opened"}},
		{name: "one charge, not 1 charges; the synced charge names its pack", file: "offline-one-charge.yaml",
			wantText: []string{"(1 charge)", "ledger took ana's Revit charge of 10 tokens journaled offline, paid from pack p1 (10)"},
			notText:  []string{"1 charges"}},
		{name: "grace is cumulative over 24 hours, and the charge says so", file: "grace-cumulative.yaml",
			wantText: []string{"tom charged 7 tokens for AutoCAD (grace used up: 5 minutes of use in the last 24 hours, counting earlier sessions)",
				"the first 5 minutes of use in any 24 hours cost nothing"}},
		{name: "available and unexpired explained", file: "bought-optional.yaml",
			wantText: []string{"unexpired: tokens left in packs that have not expired.", "available: what a new launch can count on: unexpired less held"}},
		{name: "bought is optional: the timeline's start", file: "bought-optional.yaml",
			wantJSON: []string{`"forfeited": 90`},
			wantText: []string{"paid from pack p1 (10)", "2027-11-02 09:00:00  -   pack p1 of team studio expired with 90 tokens unused"}},
		{name: "a refused event is reported and the run goes on", file: "refused-goes-on.yaml",
			wantText: []string{"line 8 refused: team studio's order of pack p2", "line 9 refused: transfer of pack p2 to team branch: its purchase was refused",
				"line 10 refused: mary ends Revit on ws1, but no such process is running there", "mary charged 10 tokens for Revit"},
			wantJSON: []string{`"reason": "order_too_small"`, `"reason": "unknown_pack"`, `"reason": "no_such_process"`}},
		{name: "JSON: [] not null, zero counts, denial reasons, the packs that paid", file: "denied-and-draws.yaml",
			wantJSON: []string{`"reason": "not_assigned"`, `"li": 0`, `"autocad": 0`, `"draws": [`, `"pack": "old",` + "\n" + `          "tokens": 4`,
				`"pack": "new",` + "\n" + `          "tokens": 6`, `"still_running": []`, `"debt": 0`, `"forfeited": 0`},
			wantText: []string{"paid from pack old (4) and pack new (6)"}},
		{name: "starting below the threshold is the starting state, not news", file: "starts-below-threshold.yaml",
			wantText: []string{"team studio starts with 30 tokens available (30 unexpired, 0 debt); low-balance threshold 115: already below it",
				"2026-11-04 09:05:00  -   team studio is low on tokens: 110 available"},
			notText: []string{"2026-11-02 09:00:00  -   team studio is low on tokens"}},
		{name: "caps refuse a launch and close a renewal past them", file: "caps.yaml",
			wantText: []string{`mary was refused AutoCAD: "You have used 10 of your 10 tokens today, and a day of AutoCAD costs 7 more.`,
				`mary's Revit window ended and renewing it for 10 tokens would pass a cap ("Your team has used 20 of its 25 tokens for revit this month, and a day of Revit costs 10 more.`,
				"mary's Revit was closed: renewing it would pass a cap"},
			wantJSON: []string{`"reason": "budget_exceeded"`}},
		{name: "a report event shows balances, windows, holds and sessions", file: "report.yaml",
			wantText: []string{"where things stand at 2026-11-02T10:02:00Z", "team studio: 83 available = 90 unexpired - 7 held - 0 debt",
				"window: mary's Revit paid until Tue 2026-11-03 09:00", "hold: 7 tokens of team studio for tom's AutoCAD on ws2, in grace",
				"running: tom's AutoCAD on ws2 since Mon 2026-11-02 10:00, in grace, 3m of it left"},
			wantJSON: []string{`"kind": "report"`, `"holds": [`}},
		{name: "a rate change applies to windows starting after it", file: "rate-change.yaml",
			wantText: []string{"mary charged 10 tokens for Revit (grace used up", "renews for 12 tokens", "mary charged 12 tokens for Revit (window renewed)"}},
		{name: "a subscription begun during grace covers the session at once", file: "subscribe.yaml",
			wantText: []string{"hold of 7 tokens for mary's AutoCAD released after 2m of use, nothing charged", "mary opened AutoCAD: covered by a subscription"},
			notText:  []string{"mary charged"}},
		{name: "assigned, then unassigned while in grace: closed, nothing charged", file: "assign.yaml",
			wantText: []string{`li was refused Revit: "You are not assigned`, "li assigned to team studio's token pool", "li opened Revit: in grace",
				`li's Revit was closed in grace, nothing charged: "You are not assigned`},
			notText: []string{"li charged"}},
		{name: "a restriction applies at once, also to a session in grace", file: "restrict.yaml",
			wantText: []string{`tom's Revit was closed in grace, nothing charged: "Your administrator has not allowed Revit`, `tom was refused Revit: "Your administrator has not allowed Revit`,
				"mary closed Revit after 3h of use"},
			wantJSON: []string{`"reason": "product_restricted"`}},
		{name: "a threshold raised above the balance notifies", file: "threshold.yaml",
			wantText: []string{"team studio's low-balance threshold is now 95 tokens (90 available)", "team studio is low on tokens: 90 available, below its threshold of 95"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join("testdata", "simulate", tt.file)
			base := strings.TrimSuffix(filepath.Join("testdata", "simulate", filepath.Base(tt.file)), ".yaml")
			text, errOut, code := runCLI(t, "simulate", file)
			if code != 0 {
				t.Fatalf("got exit %d, stderr %q; want 0", code, errOut)
			}
			js, errOut, code := runCLI(t, "simulate", "--json", file)
			if code != 0 {
				t.Fatalf("got exit %d, stderr %q; want 0", code, errOut)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(js), &v); err != nil {
				t.Fatalf("got JSON that does not parse: %v", err)
			}
			for _, k := range []string{"start", "lines", "charges", "tokens_per_user", "tokens_per_product", "teams", "still_running", "advice"} {
				if v[k] == nil {
					t.Errorf("got JSON %q null or missing, want it present", k)
				}
			}
			golden(t, base+".txt", text)
			golden(t, base+".json", js)
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("got text without %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notText {
				if strings.Contains(text, w) {
					t.Errorf("got text with %q, want none:\n%s", w, text)
				}
			}
			for _, w := range tt.wantJSON {
				if !strings.Contains(js, w) {
					t.Errorf("got JSON without %q", w)
				}
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestSimulateGolden -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("got output different from %s (rerun with -update and read the diff):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first line where two outputs part.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n want " + a + "\n  got " + b
		}
	}
	return ""
}
