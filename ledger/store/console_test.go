package store_test

import (
	"context"
	"testing"

	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestPricesAndTags: prices and tags are kept per team, bad ones are refused with what
// to do and change nothing, and a zero amount removes a price.
func TestPricesAndTags(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		eur, usd, bad, one, none, neg := "EUR", "USD", "euro", int64(1250), int64(0), int64(-1)
		for _, tc := range []struct {
			name string
			set  api.SetPrices
			code string
		}{
			{"price without a currency", api.SetPrices{TokenMilli: &one}, api.CodeBadRequest},
			{"not a currency code", api.SetPrices{Currency: &bad, TokenMilli: &one}, api.CodeBadRequest},
			{"negative price", api.SetPrices{Currency: &eur, TokenMilli: &neg}, api.CodeBadRequest},
			{"unknown product", api.SetPrices{Currency: &eur, Subscriptions: map[string]int64{"nosuch": 1000}}, api.CodeNotFound},
		} {
			if _, err := db.SetPrices(ctx, "studio", tc.set); store.Code(err) != tc.code {
				t.Errorf("%s: got %v, want code %s", tc.name, err, tc.code)
			}
		}
		if p, err := db.Prices(ctx, "studio"); err != nil || p.Currency != "" || p.TokenMilli != 0 || len(p.Subscriptions) != 0 {
			t.Fatalf("after refused changes: got %+v, %v; want no prices", p, err)
		}
		p, err := db.SetPrices(ctx, "studio", api.SetPrices{Currency: &eur, TokenMilli: &one, Subscriptions: map[string]int64{"revit": 100_000}})
		must(t, err)
		if p.Currency != "EUR" || p.TokenMilli != 1250 || p.Subscriptions["revit"] != 100_000 {
			t.Errorf("got %+v, want EUR 1.250 a token and Revit 100 a month", p)
		}
		// Removing the token price keeps the currency for the subscription prices.
		p, err = db.SetPrices(ctx, "studio", api.SetPrices{TokenMilli: &none, Currency: &usd})
		must(t, err)
		if p.Currency != "USD" || p.TokenMilli != 0 || p.Subscriptions["revit"] != 100_000 {
			t.Errorf("after removing the token price: got %+v, want USD, none, Revit 100", p)
		}
		if _, err := db.SetTags(ctx, "studio", "mary", []string{"cc-4100", "has space"}); store.Code(err) != api.CodeBadRequest {
			t.Errorf("a tag with a space: got %v, want bad_request", err)
		}
		if _, err := db.SetTags(ctx, "studio", "nobody", []string{"cc-4100"}); store.Code(err) != api.CodeNotFound {
			t.Errorf("tags of an unknown user: got %v, want not_found", err)
		}
		tags, err := db.SetTags(ctx, "studio", "mary", []string{"project-b", " cc-4100", "project-b", ""})
		must(t, err)
		all, err := db.Tags(ctx, "studio")
		must(t, err)
		if len(tags) != 2 || tags[0] != "cc-4100" || tags[1] != "project-b" || len(all["mary"]) != 2 {
			t.Errorf("tags: got %v and %v, want [cc-4100 project-b]", tags, all)
		}
	})
}
