package charge_test

import (
	"testing"

	"tollgate/charge"
)

// TestBudgetDenialNumbers: the sentence of a budget_exceeded launch tells the numbers the
// decision was made on at its instant: an extension that has run out is not in the cap,
// and a snapshot taken last month counts nothing of this one.
func TestBudgetDenialNumbers(t *testing.T) {
	month := charge.PerMonth.Start(monday)
	lastMonth := charge.PerMonth.Start(month.AddDate(0, 0, -1))
	tests := []struct {
		name string
		b    charge.Budget
		want string
	}{
		{"at the cap", charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 80, From: month},
			"You have used 80 of your 80 tokens this month, and a day of revit costs 10 more. Ask your administrator to raise the cap or grant an extension."},
		{"an extension still running counts", charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Extra: 10,
			ExtraUntil: monday.Add(charge.Day), Used: 90, From: month},
			"You have used 90 of your 90 tokens this month, and a day of revit costs 10 more. Ask your administrator to raise the cap or grant an extension."},
		{"an extension run out does not", charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Extra: 10,
			ExtraUntil: monday.Add(-charge.Day), Used: 90, From: month},
			"You have used 90 of your 80 tokens this month, and a day of revit costs 10 more. Ask your administrator to raise the cap or grant an extension."},
		{"last month's snapshot counts nothing of this one", charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 5, Used: 5, From: lastMonth},
			"You have used 0 of your 5 tokens this month, and a day of revit costs 10 more. Ask your administrator to raise the cap or grant an extension."},
	}
	for _, tt := range tests {
		e := charge.Entitlement{User: "mary", Team: "studio", Assigned: true, Rates: rates, Available: 1000, AsOf: monday, Budgets: []charge.Budget{tt.b}}
		d := charge.Decide(e, "revit", monday, charge.Policy{})
		if d.Reason != charge.BudgetExceeded {
			t.Errorf("%s: got %s, want budget_exceeded", tt.name, d.Reason)
			continue
		}
		if got := charge.Denial(&d, "revit"); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
