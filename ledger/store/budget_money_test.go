package store_test

import (
	"context"
	"strings"
	"testing"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestBudgetInMoney: a cap given in money is the whole tokens it buys at the team's token
// price when set; without a price it is refused with what to do, and changes nothing.
func TestBudgetInMoney(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 1000)
		set := func(b api.SetBudget) (charge.Budget, error) {
			b.User, b.Period = "mary", charge.PerMonth
			return db.SetBudget(ctx, "studio", b, t0)
		}
		if _, err := set(api.SetBudget{CostMilli: 500_000}); err == nil || !strings.Contains(err.Error(), "has no token price") {
			t.Errorf("a cap in money with no price: got %v, want the price asked for", err)
		}
		if bs, err := db.Budgets(ctx, "studio", t0); err != nil || len(bs) != 0 {
			t.Errorf("after the refusal: got caps %+v %v, want none", bs, err)
		}
		eur, price := "EUR", int64(12_500) // 12.50 EUR a token
		must(t, err2(db.SetPrices(ctx, "studio", api.SetPrices{Currency: &eur, TokenMilli: &price})))
		tests := []struct {
			name    string
			b       api.SetBudget
			want    int64
			wantErr string
		}{
			{"500 EUR buys 40 tokens", api.SetBudget{CostMilli: 500_000}, 40, ""},
			{"rounded down: 510 EUR still 40", api.SetBudget{CostMilli: 510_000}, 40, ""},
			{"less than a token is a cap of 0", api.SetBudget{CostMilli: 12_000}, 0, ""},
			{"tokens and money together", api.SetBudget{Tokens: 10, CostMilli: 500_000}, 0, "not both"},
			{"a negative amount", api.SetBudget{CostMilli: -1}, 0, "positive amount"},
		}
		for _, tt := range tests {
			got, err := set(tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("%s: got %v, want an error saying %q", tt.name, err, tt.wantErr)
				}
				continue
			}
			if err != nil || got.Tokens != tt.want {
				t.Errorf("%s: got %d tokens %v, want %d", tt.name, got.Tokens, err, tt.want)
			}
		}
		// The cap stays in tokens when the price changes.
		price = 25_000
		must(t, err2(db.SetPrices(ctx, "studio", api.SetPrices{TokenMilli: &price})))
		must(t, err2(set(api.SetBudget{CostMilli: 500_000})))
		price = 1_000
		must(t, err2(db.SetPrices(ctx, "studio", api.SetPrices{TokenMilli: &price})))
		if bs, err := db.Budgets(ctx, "studio", t0); err != nil || len(bs) != 1 || bs[0].Tokens != 20 {
			t.Errorf("after a price change: got %+v %v, want the cap of 20 tokens it was set to", bs, err)
		} else if bs[0].Currency != "EUR" || bs[0].TokenMilli != 1_000 || bs[0].InMoney(t0) != "0.00 of 20.00 EUR" {
			// The caps carry today's price, for saying them in money too.
			t.Errorf("after a price change: got price %s %d (%q), want EUR 1000 (\"0.00 of 20.00 EUR\")", bs[0].Currency, bs[0].TokenMilli, bs[0].InMoney(t0))
		}
		// The caps in mary's entitlement snapshot carry it too, for her status.
		e, err := db.Entitlement(ctx, "studio", "mary", t0)
		if err != nil || len(e.Budgets) != 1 || e.Budgets[0].TokenMilli != 1_000 || e.Budgets[0].Currency != "EUR" {
			t.Errorf("mary's snapshot: got %+v %v, want her cap with the price EUR 1000", e.Budgets, err)
		}
		// A price removed: the caps are in tokens only again.
		price = 0
		must(t, err2(db.SetPrices(ctx, "studio", api.SetPrices{TokenMilli: &price})))
		if bs, err := db.Budgets(ctx, "studio", t0); err != nil || len(bs) != 1 || bs[0].InMoney(t0) != "" {
			t.Errorf("after the price is removed: got %+v %v, want no money", bs, err)
		}
	})
}
