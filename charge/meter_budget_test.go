package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

// capped is a world whose entitlements carry caps, with what is used of them counted the
// way the ledger counts it: the charges whose window starts in the period, plus holds.
type capped struct {
	*world
	caps []charge.Budget
}

func (c *capped) Entitlement(user string) charge.Entitlement {
	e := c.world.Entitlement(user)
	for _, b := range c.caps {
		b.From = b.Period.Start(c.wall)
		b.Used = c.pool.Held()
		for k, n := range c.charge {
			if b.Applies(k.User, k.Product) && !k.Start.Before(b.From) && k.Start.Before(b.Period.End(c.wall)) {
				b.Used += n
			}
		}
		e.Budgets = append(e.Budgets, b)
	}
	return e
}

func (c *capped) pass(d time.Duration) {
	c.wall = c.wall.Add(d)
	c.mono += d
	c.apply(c.m.Advance(c.reading(), c))
}

func (c *capped) open(id, product string) charge.Decision {
	d, effs := c.m.Start(c.reading(), charge.Proc{ID: id, User: "mary", Product: product}, c)
	c.apply(effs)
	return d
}

// TestRenewalPastACap: a renewal the caps do not let through follows renewal_when_empty
// as one the balance cannot pay (rule 13): charged anyway under overdraw, warned and
// closed under close, renewed after all if an extension arrives before the close.
func TestRenewalPastACap(t *testing.T) {
	month := func(tokens int64) charge.Budget {
		return charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: tokens}
	}
	tests := []struct {
		name       string
		policy     charge.WhenEmpty
		caps       []charge.Budget
		extendTo   int64 // a cap raised between the warning and the close
		products   []string
		wantSpent  int64
		wantClosed int
		wantReason charge.Reason // of any closing or close
	}{
		{"overdraw: charged past the cap", charge.EmptyOverdraw, []charge.Budget{month(15)}, 0, []string{"revit"}, 20, 0, ""},
		{"close: warned then closed", charge.EmptyClose, []charge.Budget{month(15)}, 0, []string{"revit"}, 10, 1, charge.BudgetExceeded},
		{"close: the cap fits the renewal", charge.EmptyClose, []charge.Budget{month(20)}, 0, []string{"revit"}, 20, 0, ""},
		{"close: the cap raised before the close renews", charge.EmptyClose, []charge.Budget{month(15)}, 25, []string{"revit"}, 20, 0, charge.BudgetExceeded},
		{"close: another product's cap does not bind", charge.EmptyClose, []charge.Budget{{Team: "studio", Product: "autocad", Period: charge.PerMonth, Tokens: 0}}, 0, []string{"revit"}, 20, 0, ""},
		// Both renew at the same instant in one call: a team cap with room for AutoCAD's 7
		// tokens but not Revit's 10 lets AutoCAD through, whichever renews first.
		{"close: two renewals in one call share the cap", charge.EmptyClose, []charge.Budget{{Team: "studio", Period: charge.PerMonth, Tokens: 24}}, 0, []string{"revit", "autocad"}, 24, 1, charge.BudgetExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &capped{world: newWorld(t, 1000, charge.Policy{RenewalWhenEmpty: tt.policy, CloseAfter: 15 * time.Minute}), caps: tt.caps}
			for i, p := range tt.products {
				if d := c.open(string(rune('a'+i)), p); !d.Allowed {
					t.Fatalf("open %s: got %s, want allowed", p, d.Reason)
				}
			}
			c.pass(5 * time.Minute)
			c.pass(24*time.Hour - 5*time.Minute)
			if tt.extendTo > 0 {
				c.caps[0].Tokens = tt.extendTo
			}
			c.pass(15 * time.Minute)
			if got := c.spent(); got != tt.wantSpent {
				t.Errorf("got %d tokens spent, want %d", got, tt.wantSpent)
			}
			if got := c.count(charge.Close); got != tt.wantClosed {
				t.Errorf("got %d products closed, want %d", got, tt.wantClosed)
			}
			for _, f := range c.effs {
				if f.Kind != charge.Close && f.Kind != charge.Closing {
					continue
				}
				if f.Reason != tt.wantReason {
					t.Errorf("got %s with reason %q, want %q", f.Kind, f.Reason, tt.wantReason)
				}
				if f.Reason == charge.BudgetExceeded && (f.Decision == nil || f.Decision.Budget == nil) {
					t.Errorf("got %s without the cap it would pass, want the numbers for the user", f.Kind)
				}
			}
		})
	}
}

// TestRenewalsInOneCallShareACap: two products renewing at the same instant are decided
// in one call; the second must count the first's renewal against the cap, so that a cap
// with room for either (27 of which 17 are used: Revit's 10 or AutoCAD's 7) lets exactly
// one through.
func TestRenewalsInOneCallShareACap(t *testing.T) {
	const limit = 27
	c := &capped{world: newWorld(t, 1000, charge.Policy{RenewalWhenEmpty: charge.EmptyClose, CloseAfter: 15 * time.Minute}),
		caps: []charge.Budget{{Team: "studio", Period: charge.PerMonth, Tokens: limit}}}
	c.open("a", "revit")
	c.open("b", "autocad")
	c.pass(24*time.Hour + 15*time.Minute)
	if got := c.count(charge.Close); got != 1 {
		t.Errorf("got %d products closed, want exactly 1", got)
	}
	if got := c.spent(); got > limit {
		t.Errorf("got %d tokens spent, want at most the cap of %d", got, limit)
	}
}
