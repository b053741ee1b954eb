package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

func TestDecideBudgets(t *testing.T) {
	day := charge.PerDay.Start(monday)
	month := charge.PerMonth.Start(monday)
	base := charge.Entitlement{User: "mary", Team: "studio", Assigned: true, Rates: rates, Available: 1000, AsOf: monday}
	with := func(bs ...charge.Budget) charge.Entitlement {
		e := base
		e.Budgets = bs
		return e
	}
	user := func(p charge.Period, cap, used int64, from time.Time) charge.Budget {
		return charge.Budget{Team: "studio", User: "mary", Period: p, Tokens: cap, Used: used, From: from}
	}
	tests := []struct {
		name    string
		e       charge.Entitlement
		product string
		at      time.Time
		want    charge.Reason
	}{
		{"no caps", base, "revit", monday, charge.InGrace},
		{"under a user cap", with(user(charge.PerMonth, 80, 70, month)), "revit", monday, charge.InGrace},
		{"over a user cap", with(user(charge.PerMonth, 80, 71, month)), "revit", monday, charge.BudgetExceeded},
		{"another user's cap", with(charge.Budget{Team: "studio", User: "john", Period: charge.PerDay, Tokens: 0, From: day}), "revit", monday, charge.InGrace},
		{"over the team cap", with(charge.Budget{Team: "studio", Period: charge.PerDay, Tokens: 15, Used: 6, From: day}), "revit", monday, charge.BudgetExceeded},
		{"over a product cap", with(charge.Budget{Team: "studio", Product: "revit", Period: charge.PerDay, Tokens: 10, Used: 1, From: day}), "revit", monday, charge.BudgetExceeded},
		{"another product's cap", with(charge.Budget{Team: "studio", Product: "revit", Period: charge.PerDay, Tokens: 10, Used: 10, From: day}), "autocad", monday, charge.InGrace},
		{"day cap used yesterday starts over today", with(user(charge.PerDay, 10, 10, day)), "revit", day.Add(charge.Day), charge.InGrace},
		{"day cap used today", with(user(charge.PerDay, 10, 10, day)), "revit", day.Add(charge.Day - 1), charge.BudgetExceeded},
		{"month cap used on the 2nd still binds on the 30th", with(user(charge.PerMonth, 10, 10, month)), "revit", month.AddDate(0, 0, 29), charge.BudgetExceeded},
		{"month cap starts over on the 1st", with(user(charge.PerMonth, 10, 10, month)), "revit", month.AddDate(0, 1, 0), charge.InGrace},
		{"holds count: used includes what is held", with(user(charge.PerDay, 20, 11, day)), "revit", monday, charge.BudgetExceeded},
		{"an extension raises the cap", with(charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 80, From: month, Extra: 10, ExtraUntil: monday.Add(time.Hour)}), "revit", monday, charge.InGrace},
		{"an extension expires", with(charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 80, From: month, Extra: 10, ExtraUntil: monday.Add(time.Hour)}), "revit", monday.Add(time.Hour), charge.BudgetExceeded},
		{"a subscription ignores caps", func() charge.Entitlement {
			e := with(user(charge.PerDay, 0, 0, day))
			e.Subscriptions = []charge.Subscription{{Product: "revit", From: day}}
			return e
		}(), "revit", monday, charge.Subscribed},
		{"a paid window ignores caps", func() charge.Entitlement {
			e := with(user(charge.PerDay, 0, 0, day))
			e.Windows = []charge.Window{{Key: charge.Key{Team: "studio", User: "mary", Product: "revit", Start: monday.Add(-time.Hour)}, Tokens: 10}}
			return e
		}(), "revit", monday, charge.PaidWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.e.AsOf = tt.at // a fresh snapshot: the offline rule is not under test
			d := charge.Decide(tt.e, tt.product, tt.at, charge.Policy{})
			if d.Reason != tt.want {
				t.Fatalf("got %s, want %s", d.Reason, tt.want)
			}
			if (d.Budget != nil) != (tt.want == charge.BudgetExceeded) {
				t.Errorf("got budget %+v with reason %s", d.Budget, d.Reason)
			}
		})
	}
}

func TestBudgetPeriods(t *testing.T) {
	at := time.Date(2028, 2, 29, 23, 59, 0, 0, time.FixedZone("x", 3600))
	tests := []struct {
		p          charge.Period
		start, end time.Time
	}{
		{charge.PerDay, time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)},
		{charge.PerMonth, time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := tt.p.Start(at); !got.Equal(tt.start) {
			t.Errorf("%s start: got %v, want %v", tt.p, got, tt.start)
		}
		if got := tt.p.End(at); !got.Equal(tt.end) {
			t.Errorf("%s end: got %v, want %v", tt.p, got, tt.end)
		}
	}
}

func TestBudgetSpendAndLevels(t *testing.T) {
	day := charge.PerDay.Start(monday)
	bs := []charge.Budget{
		{Team: "studio", User: "mary", Period: charge.PerDay, Tokens: 20, Used: 5, From: day},
		{Team: "studio", Product: "autocad", Period: charge.PerDay, Tokens: 20, Used: 5, From: day},
	}
	got := charge.Spend(bs, "mary", "revit", 10, monday)
	if got[0].Used != 15 || got[1].Used != 5 {
		t.Errorf("spend today: got used %d and %d, want 15 and 5", got[0].Used, got[1].Used)
	}
	got = charge.Spend(bs, "mary", "revit", 10, day.Add(charge.Day))
	if got[0].Used != 10 || !got[0].From.Equal(day.Add(charge.Day)) {
		t.Errorf("spend tomorrow: got used %d from %v, want 10 from the next day", got[0].Used, got[0].From)
	}
	for _, tt := range []struct{ used, limit, want int64 }{{0, 80, 0}, {63, 80, 0}, {64, 80, 80}, {79, 80, 80}, {80, 80, 100}, {90, 80, 100}, {0, 0, 100}} {
		if got := charge.BudgetLevel(tt.used, tt.limit); got != tt.want {
			t.Errorf("level of %d/%d: got %d, want %d", tt.used, tt.limit, got, tt.want)
		}
	}
}

// TestBudgetString: the sentence status and a denial show, in tokens, and in money too
// where the team has a token price (at that price, whatever the price was when the cap
// was set: the cap itself is in tokens).
func TestBudgetString(t *testing.T) {
	month, day := charge.PerMonth.Start(monday), charge.PerDay.Start(monday)
	mary := charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 60, From: month}
	priced := func(b charge.Budget, cur string, milli int64) charge.Budget {
		b.Currency, b.TokenMilli = cur, milli
		return b
	}
	extended := mary
	extended.Extra, extended.ExtraUntil = 20, monday.Add(time.Hour)
	tests := []struct {
		name string
		b    charge.Budget
		at   time.Time
		want string
	}{
		{"a user's month", mary, monday, "you have used 60 of your 80 tokens this month"},
		{"a product's day", charge.Budget{Team: "studio", Product: "revit", Period: charge.PerDay, Tokens: 25, Used: 20, From: day}, monday,
			"your team has used 20 of its 25 tokens for revit today"},
		{"the team's day", charge.Budget{Team: "studio", Period: charge.PerDay, Tokens: 25, Used: 20, From: day}, monday,
			"your team has used 20 of its 25 tokens today"},
		{"next month starts from nothing", mary, month.AddDate(0, 1, 0), "you have used 0 of your 80 tokens this month"},
		{"with a token price", priced(mary, "EUR", 12_500), monday, "you have used 60 of your 80 tokens this month (750.00 of 1,000.00 EUR)"},
		{"an extension counts in money too", priced(extended, "USD", 2_000), monday, "you have used 60 of your 100 tokens this month (120.00 of 200.00 USD)"},
		{"a price of a fraction of a cent", priced(mary, "EUR", 1), monday, "you have used 60 of your 80 tokens this month (0.06 of 0.08 EUR)"},
		{"no currency: no money", priced(mary, "", 12_500), monday, "you have used 60 of your 80 tokens this month"},
	}
	for _, tt := range tests {
		if got := tt.b.String(tt.at); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		milli int64
		cur   string
		want  string
	}{
		{12_500, "EUR", "12.50 EUR"},
		{1_234_567_890, "USD", "1,234,567.89 USD"},
		{5, "EUR", "0.01 EUR"},
		{4, "EUR", "0.00 EUR"},
		{-1_500, "GBP", "-1.50 GBP"},
		{100_000_000, "EUR", "100,000.00 EUR"},
		{12_500, "", ""},
	}
	for _, tt := range tests {
		if got := charge.Money(tt.milli, tt.cur); got != tt.want {
			t.Errorf("Money(%d, %q): got %q, want %q", tt.milli, tt.cur, got, tt.want)
		}
	}
}

func TestBudgetRenews(t *testing.T) {
	month := charge.PerMonth.Start(monday)
	e := charge.Entitlement{User: "mary", Team: "studio", Budgets: []charge.Budget{{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 75, From: month}}}
	for _, tt := range []struct {
		product string
		rate    int64
		at      time.Time
		want    bool
	}{
		{"rhino", 5, monday, true},
		{"revit", 10, monday, false},
		{"revit", 10, month.AddDate(0, 1, 0), true},
	} {
		if got := e.Renews(tt.product, tt.rate, tt.at); got != tt.want {
			t.Errorf("renew %s at %v: got %v, want %v", tt.product, tt.at, got, tt.want)
		}
	}
}
