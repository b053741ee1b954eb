package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store/storetest"
)

// TestAdvisorOverLedger runs the advisor on the simulated month through the CLI, as an
// admin would: on 1 December every user is too new; on 15 December mary (20 weekdays of
// Revit since 3 November 09:00, exactly 42 days) is cheaper on a subscription:
// 200 tokens * 365/42 = 1,738.10 EUR a year against 12 * 100 = 1,200: saves 538.10.
func TestAdvisorOverLedger(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			ctx := context.Background()
			cli := func(args ...string) string {
				var out, errOut bytes.Buffer
				args = append(args, "--url", w.url, "--token", w.studio)
				if err := ledger.Main(ctx, &out, &errOut, args); err != nil {
					t.Fatalf("tollgate ledger %v: %v (%s)", args, err, errOut.String())
				}
				return out.String()
			}
			out := cli("report", "advisor", "--team", "studio")
			for _, u := range []string{"mary.studio", "john.studio", "ann.studio"} {
				if !strings.Contains(out, u) {
					t.Errorf("advisor on 1 December lacks %s:\n%s", u, out)
				}
			}
			if n := strings.Count(out, "too early to tell"); n != 3 {
				t.Errorf("advisor on 1 December: %d users too early, want 3:\n%s", n, out)
			}

			eur, one := "EUR", int64(1000)
			_, err := w.db.SetPrices(ctx, "studio", api.SetPrices{Currency: &eur, TokenMilli: &one, Subscriptions: map[string]int64{"revit": 100_000, "autocad": 100_000}})
			must(t, err)
			w.clock.Set(time.Date(2025, 12, 15, 9, 0, 0, 0, time.UTC))
			out = cli("report", "advisor", "--team", "studio")
			if !strings.Contains(out, "move to a subscription (saves 538.10 EUR a year)") {
				t.Errorf("mary on 15 December: want 'move to a subscription (saves 538.10 EUR a year)':\n%s", out)
			}
			if !strings.Contains(out, "keep on tokens") {
				t.Errorf("ann (5 days in 6 weeks) on 15 December: want 'keep on tokens':\n%s", out)
			}
			csv := cli("report", "advisor", "--team", "studio", "--csv")
			if !strings.HasPrefix(csv, "user,product,first_use,") || !strings.Contains(csv, "mary.studio,revit,2025-11-03,42,20,14.5,200,false,EUR,1738.10,1200.00,538.10,move_to_subscription,") {
				t.Errorf("advisor CSV:\n%s", csv)
			}
			fc := cli("report", "forecast", "--team", "studio")
			if !strings.Contains(fc, "more days of Revit") {
				t.Errorf("forecast: %s", fc)
			}
		})
	}
}
