package store_test

import (
	"context"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestBudgetNoticeFromRenewal: renewals are not refused by the ledger (the use happened),
// so a cap is crossed by charges synced after the fact too: the admins are told at 80 %
// and at 100 %, once each, and a renewal synced again changes nothing.
func TestBudgetNoticeFromRenewal(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 1000)
		must(t, err2(db.SetBudget(ctx, "studio", api.SetBudget{User: "mary", Period: charge.PerMonth, Tokens: 20}, t0)))
		first := chargeEvent("c1", "mary", "revit", t0, 10) // 10 of 20: no notice
		must(t, err2(db.Ingest(ctx, "studio", "dv_1", []api.Event{first}, t0.Add(time.Hour))))
		if got := budgetNotices(t, db); len(got) != 0 {
			t.Fatalf("at 10 of 20: got notices %+v, want none", got)
		}
		renewal := chargeEvent("c2", "mary", "revit", t0.Add(charge.Day), 10)
		renewal.Effect.At, renewal.Effect.Renewal = t0.Add(charge.Day), true
		for range 2 { // the second is the same event sent again
			must(t, err2(db.Ingest(ctx, "studio", "dv_1", []api.Event{renewal}, t0.Add(charge.Day+time.Minute))))
		}
		got := budgetNotices(t, db)
		if len(got) != 2 || got[0].Level != 80 || got[1].Level != 100 || got[1].Budget.Used != 20 || got[1].Limit != 20 {
			t.Errorf("after the renewal, 20 of 20: got notices %+v, want 80 then 100 %%, once each", got)
		}
	})
}
