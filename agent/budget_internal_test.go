package agent

import (
	"testing"
	"time"

	"tollgate/charge"
)

// TestOfflineBudgets: a device offline counts what it spent since its snapshot against
// the caller's caps, and its own decision then respects them (rule 13).
func TestOfflineBudgets(t *testing.T) {
	asOf := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	x := newEntitlements(false, nil)
	x.put(charge.Entitlement{User: "mary", Team: "studio", Assigned: true, Rates: map[string]int64{"revit": 10, "rhino": 5},
		Available: 1000, AsOf: asOf, Budgets: []charge.Budget{
			{Team: "studio", User: "mary", Period: charge.PerDay, Tokens: 20, Used: 5, From: charge.PerDay.Start(asOf)},
		}})
	at := asOf.Add(time.Hour)
	if d := charge.Decide(x.Entitlement("mary"), "revit", at, charge.Policy{}); d.Reason != charge.InGrace {
		t.Fatalf("before spending: got %s, want grace", d.Reason)
	}
	key := charge.Key{Team: "studio", User: "mary", Product: "revit", Start: at}
	x.apply([]charge.Effect{{Kind: charge.Held, At: at, User: "mary", Product: "revit", Key: key, Tokens: 10}}, []string{"e1"})
	tests := []struct {
		name string
		at   time.Time
		want charge.Reason
		used int64
	}{
		{"the device's hold counts: 15 of 20 used", at, charge.BudgetExceeded, 15},
		{"the next UTC day starts over", charge.PerDay.End(at), charge.InGrace, 0},
	}
	for _, tt := range tests {
		e := x.Entitlement("mary")
		e.AsOf = tt.at // within the offline allowance: only the cap is under test
		d := charge.Decide(e, "revit", tt.at, charge.Policy{})
		if d.Reason != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, d.Reason, tt.want)
		}
		if got := e.Budgets[0].UsedAt(tt.at); got != tt.used {
			t.Errorf("%s: got %d used, want %d", tt.name, got, tt.used)
		}
	}
}
