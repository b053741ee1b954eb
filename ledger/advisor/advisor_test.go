package advisor_test

import (
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/advisor"
	"tollgate/ledger/api"
)

var now = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

// days returns usage rows: one charged Revit window on each of the days before now
// that pick chooses, over the advisor's 90 days.
func days(user string, pick func(d time.Time, i int) bool) []api.UsageRow {
	var out []api.UsageRow
	for i := 1; i <= 90; i++ {
		d := now.Add(-time.Duration(i) * charge.Day)
		if pick(d, i) {
			out = append(out, api.UsageRow{Day: d.Format(time.DateOnly), User: user, Product: "revit", Device: "pc", Sessions: 1, Charges: 1, Tokens: 10})
		}
	}
	return out
}

// TestAdviseHandComputed checks the advisor against figures worked out by hand; the
// arithmetic is in each case's comment.
func TestAdviseHandComputed(t *testing.T) {
	long := now.Add(-300 * charge.Day)
	// five: 5 days in each 30 of the 90 = 15 days, 150 tokens.
	five := days("five", func(_ time.Time, i int) bool { return (i-1)%30 < 5 })
	// thrice: Monday, Wednesday, Friday. The 90 days before Monday 2 March are 12 weeks
	// (36 such days) and Tuesday 2 to Sunday 7 December (Wednesday and Friday): 38 days,
	// 380 tokens.
	thrice := days("thrice", func(d time.Time, _ int) bool {
		w := d.Weekday()
		return w == time.Monday || w == time.Wednesday || w == time.Friday
	})
	// fresh: started 10 days ago, used 8 of them.
	fresh := days("fresh", func(_ time.Time, i int) bool { return i <= 8 })
	usage := append(append(five, thrice...), fresh...)
	first := map[api.UseKey]time.Time{
		{User: "five", Product: "revit"}:   long,
		{User: "thrice", Product: "revit"}: long,
		{User: "fresh", Product: "revit"}:  now.Add(-10 * charge.Day),
	}
	priced := api.Prices{Currency: "EUR", TokenMilli: 1000, Subscriptions: map[string]int64{"revit": 100_000}}

	type want struct {
		days       int64
		perMonth   float64
		tokens     int64
		tokensYear int64 // milli
		savings    int64 // milli
		verdict    string
		text       string
	}
	for _, tc := range []struct {
		name   string
		prices api.Prices
		want   map[string]want
	}{
		{"with prices: 1 EUR a token, Revit 100 EUR a month", priced, map[string]want{
			// 15 days * (365/12) / 90 = 5.07 a month; 150 tokens * 365/90 = 608.33 EUR a
			// year against 1,200 EUR: keep on tokens, saving 591.67.
			"five": {15, 5.1, 150, 608_333, 591_667, api.KeepTokens, "keep on tokens (saves 591.67 EUR a year)"},
			// 38 * (365/12) / 90 = 12.84 a month; 380 * 365/90 = 1,541.11 EUR a year
			// against 1,200: move, saving 341.11.
			"thrice": {38, 12.8, 380, 1_541_111, 341_111, api.MoveSubscription, "move to a subscription (saves 341.11 EUR a year)"},
			// 10 days of history, under the 30 the advisor needs.
			"fresh": {8, 0, 80, 0, 0, api.TooEarly, "too early to tell"},
		}},
		{"no prices: the reseller's rule", api.Prices{}, map[string]want{
			"five":   {15, 5.1, 150, 0, 0, api.KeepTokens, "keep on tokens"},
			"thrice": {38, 12.8, 380, 0, 0, api.MoveSubscription, "move to a subscription"},
			"fresh":  {8, 0, 80, 0, 0, api.TooEarly, "too early to tell"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := advisor.Advise(advisor.Input{Now: now, Usage: usage, First: first, Rates: map[string]int64{"revit": 10}, Prices: tc.prices})
			if len(got) != 3 {
				t.Fatalf("got %d pieces of advice, want 3: %+v", len(got), got)
			}
			for _, a := range got {
				w := tc.want[a.User]
				if a.Days != w.days || a.DaysPerMonth != w.perMonth || a.Tokens != w.tokens || a.TokensYear != w.tokensYear || a.Savings != w.savings || a.Verdict != w.verdict {
					t.Errorf("%s: got days %d, %.1f a month, %d tokens, %d a year, saves %d, %s; want %d, %.1f, %d, %d, %d, %s",
						a.User, a.Days, a.DaysPerMonth, a.Tokens, a.TokensYear, a.Savings, a.Verdict, w.days, w.perMonth, w.tokens, w.tokensYear, w.savings, w.verdict)
				}
				if len(a.Text) < len(w.text) || a.Text[:len(w.text)] != w.text {
					t.Errorf("%s: text %q, want it to start %q", a.User, a.Text, w.text)
				}
			}
		})
	}
}

// TestForecast: 4,000 tokens at 300 tokens in 30 days (10 a day) last 400 days; a pack
// of 500 that expires in 60 days expires before then.
func TestForecast(t *testing.T) {
	team := api.Team{ID: "studio", Balance: api.Balance{Available: 4000}}
	var daily []api.TokenDay
	for i := 1; i <= 30; i++ {
		daily = append(daily, api.TokenDay{Day: now.Add(-time.Duration(i) * charge.Day).Format(time.DateOnly), Tokens: 10})
	}
	packs := []api.Pack{{Pack: charge.Pack{ID: "a", Left: 500}, Expires: now.Add(60 * charge.Day)}, {Pack: charge.Pack{ID: "b", Left: 3500}, Expires: now.Add(700 * charge.Day)}}
	f := advisor.Forecast(advisor.ForecastInput{Now: now, Team: team, Daily: daily, Packs: packs,
		Products: []api.Product{{ID: "revit", Name: "Revit", Rate: 10}, {ID: "autocad", Name: "AutoCAD", Rate: 7}},
		Prices:   api.Prices{Currency: "EUR", TokenMilli: 500}})
	if f.Burned30 != 300 || f.PerDay != 10 || f.DaysLeft != 400 || !f.RunsOut.Equal(now.Add(400*charge.Day)) || f.Expiring != 500 || f.CostPerDay != 5000 {
		t.Errorf("got burned %d, %.1f a day, %.1f days, runs out %s, %d expiring, %d a day; want 300, 10, 400, %s, 500, 5000",
			f.Burned30, f.PerDay, f.DaysLeft, f.RunsOut, f.Expiring, f.CostPerDay, now.Add(400*charge.Day))
	}
	want := map[string]int64{"revit": 400, "autocad": 571}
	for _, p := range f.Products {
		if p.Days != want[p.Product] {
			t.Errorf("%s: got %d more days, want %d", p.Product, p.Days, want[p.Product])
		}
	}
	idle := advisor.Forecast(advisor.ForecastInput{Now: now, Team: team})
	if idle.DaysLeft != -1 || !idle.RunsOut.IsZero() {
		t.Errorf("no use: got %.1f days, runs out %s; want -1 and never", idle.DaysLeft, idle.RunsOut)
	}
}
