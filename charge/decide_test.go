package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

var monday = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

var rates = map[string]int64{"revit": 10, "autocad": 7}

func TestDecide(t *testing.T) {
	base := charge.Entitlement{User: "mary", Team: "studio", Assigned: true, Rates: rates, Available: 100, AsOf: monday}
	with := func(f func(*charge.Entitlement)) charge.Entitlement {
		e := base
		f(&e)
		return e
	}
	window := charge.Window{Key: charge.Key{Team: "studio", User: "mary", Product: "revit", Start: monday.Add(-2 * time.Hour)}, Tokens: 10}
	tests := []struct {
		name    string
		e       charge.Entitlement
		product string
		at      time.Time
		want    charge.Reason
		until   time.Time
	}{
		{"tokens enter grace", base, "revit", monday, charge.InGrace, time.Time{}},
		{"subscription first", with(func(e *charge.Entitlement) {
			e.Subscriptions = []charge.Subscription{{Product: "autocad", From: monday.AddDate(0, -1, 0), Until: monday.AddDate(0, 1, 0)}}
		}), "autocad", monday, charge.Subscribed, monday.AddDate(0, 1, 0)},
		{"subscription covers even an unassigned user", with(func(e *charge.Entitlement) {
			e.Assigned = false
			e.Subscriptions = []charge.Subscription{{Product: "autocad", From: monday.AddDate(-1, 0, 0)}}
		}), "autocad", monday, charge.Subscribed, time.Time{}},
		{"subscription to another product does not cover", with(func(e *charge.Entitlement) {
			e.Subscriptions = []charge.Subscription{{Product: "autocad", From: monday.AddDate(-1, 0, 0)}}
		}), "revit", monday, charge.InGrace, time.Time{}},
		{"expired subscription", with(func(e *charge.Entitlement) {
			e.Subscriptions = []charge.Subscription{{Product: "autocad", From: monday.AddDate(-1, 0, 0), Until: monday}}
		}), "autocad", monday, charge.InGrace, time.Time{}},
		{"not assigned", with(func(e *charge.Entitlement) { e.Assigned = false }), "revit", monday, charge.NotAssigned, time.Time{}},
		{"team does not cover product", with(func(e *charge.Entitlement) { e.TeamProducts = charge.Products{"autocad"} }), "revit", monday, charge.ProductRestricted, time.Time{}},
		{"user may not use product", with(func(e *charge.Entitlement) { e.UserProducts = charge.Products{"autocad"} }), "revit", monday, charge.ProductRestricted, time.Time{}},
		{"unknown product", base, "maya", monday, charge.ProductRestricted, time.Time{}},
		{"paid window", with(func(e *charge.Entitlement) { e.Windows = []charge.Window{window} }), "revit", monday, charge.PaidWindow, window.End()},
		{"paid window at its last nanosecond", with(func(e *charge.Entitlement) { e.Windows = []charge.Window{window} }), "revit", window.End().Add(-1), charge.PaidWindow, window.End()},
		{"paid window ended", with(func(e *charge.Entitlement) { e.Windows = []charge.Window{window} }), "revit", window.End(), charge.InGrace, time.Time{}},
		{"paid window while offline too long", with(func(e *charge.Entitlement) { e.Windows = []charge.Window{window}; e.AsOf = monday.Add(-48 * time.Hour) }), "revit", monday, charge.PaidWindow, window.End()},
		{"insufficient tokens", with(func(e *charge.Entitlement) { e.Available = 5 }), "revit", monday, charge.InsufficientTokens, time.Time{}},
		{"exactly one day left", with(func(e *charge.Entitlement) { e.Available = 10 }), "revit", monday, charge.InGrace, time.Time{}},
		{"offline within allowance", with(func(e *charge.Entitlement) { e.AsOf = monday.Add(-24 * time.Hour) }), "revit", monday, charge.InGrace, time.Time{}},
		{"offline too long", with(func(e *charge.Entitlement) { e.AsOf = monday.Add(-24*time.Hour - time.Nanosecond) }), "revit", monday, charge.OfflineTooLong, time.Time{}},
		{"restriction applies inside a paid window", with(func(e *charge.Entitlement) { e.Windows = []charge.Window{window}; e.Assigned = false }), "revit", monday, charge.NotAssigned, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := charge.Decide(tt.e, tt.product, tt.at, charge.Policy{})
			if d.Reason != tt.want || d.Allowed != tt.want.Allows() {
				t.Errorf("got %s (allowed %v), want %s (allowed %v)", d.Reason, d.Allowed, tt.want, tt.want.Allows())
			}
			if !d.Until.Equal(tt.until) {
				t.Errorf("got until %v, want %v", d.Until, tt.until)
			}
			if d.Rate != tt.e.Rates[tt.product] || d.Available != tt.e.Available {
				t.Errorf("got rate %d available %d, want %d and %d", d.Rate, d.Available, tt.e.Rates[tt.product], tt.e.Available)
			}
		})
	}
}

func TestReasonsClosedSet(t *testing.T) {
	allowed := 0
	for _, r := range charge.Reasons() {
		if !r.Valid() {
			t.Errorf("got %q invalid, want valid", r)
		}
		if r.Allows() {
			allowed++
		}
	}
	if got, want := allowed, 3; got != want {
		t.Errorf("got %d allowing reasons, want %d", got, want)
	}
	if charge.Reason("because").Valid() {
		t.Error("got an unknown reason valid, want invalid")
	}
}
