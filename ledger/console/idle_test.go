package console_test

import (
	"context"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store/storetest"
)

// TestUsageShowsIdleProducts: a renewal charged on an idle Revit and an idle AutoCAD closed
// at its renewal, synced by their devices, show on the usage page, for the team and
// filtered by user.
func TestUsageShowsIdleProducts(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			ctx := context.Background()
			sat := time.Date(2025, 11, 29, 9, 0, 0, 0, time.UTC)
			renewal := charge.Effect{Kind: charge.Charged, At: sat, Device: "pc-mary", User: "mary.studio", Product: "revit", Renewal: true,
				Reason: charge.Idle, IdleSince: sat.Add(-15 * time.Hour), Tokens: 10,
				Key: charge.Key{Team: "studio", User: "mary.studio", Product: "revit", Start: sat}}
			saved := charge.Effect{Kind: charge.Saved, At: sat.Add(time.Hour), Device: "pc-john", User: "john.studio", Product: "autocad",
				Reason: charge.Idle, Tokens: 7, Key: charge.Key{Team: "studio", User: "john.studio", Product: "autocad", Start: sat.Add(time.Hour)}}
			for dev, e := range map[string]charge.Effect{"pc-mary": renewal, "pc-john": saved} {
				for range 2 { // sent twice, counted once
					rs, err := w.devices[dev].Ingest(ctx, []api.Event{{ID: "idle-" + dev, Effect: e}})
					if err != nil || rs[0].Status == api.Refused {
						t.Fatalf("%s: %+v %v", dev, rs, err)
					}
				}
			}
			b := newBrowser(t)
			b.open(t, w.url+"/admin/")
			b.do(t, setValue("#token", w.studio))
			b.submit(t, "form.signin button")
			for _, tt := range []struct {
				query        string
				spent, saved int64
			}{
				{"", 10, 7},
				{"&user=mary.studio", 10, 0},
				{"&product=autocad", 0, 7},
			} {
				b.open(t, w.url+"/admin/t/studio/usage?from=2025-11-01&to=2025-11-30"+tt.query)
				if got := atoi(t, b.text(t, "#idle-spent")); got != tt.spent {
					t.Errorf("usage%s: got %d tokens spent on idle renewals, want %d", tt.query, got, tt.spent)
				}
				if got := atoi(t, b.text(t, "#idle-saved")); got != tt.saved {
					t.Errorf("usage%s: got %d tokens saved by idle closes, want %d", tt.query, got, tt.saved)
				}
			}
		})
	}
}
