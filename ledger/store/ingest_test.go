package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// One batch that crosses chunk boundaries and meets every rule of taking a charge
// within itself: each event is answered as it would be alone, the pool is debited once
// per window, and sending the batch again changes nothing.
func TestIngestBatchRules(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		now := t0.Add(3 * charge.Day)
		a, err := db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "mary", Product: "revit", Hold: "h1"}, t0)
		must(t, err)
		first := chargeEvent("e1", "mary", "revit", t0, 10)
		first.Hold = a.Hold
		type want struct {
			status, code string
		}
		var batch []api.Event
		var wants []want
		add := func(e api.Event, status, code string) {
			batch = append(batch, e)
			wants = append(wants, want{status, code})
		}
		filler := func(n int) {
			for range n {
				id := fmt.Sprint("o", len(batch))
				add(api.Event{ID: id, Effect: charge.Effect{Kind: charge.Opened, At: t0, User: "mary", Product: "revit", Reason: charge.InGrace}}, api.Accepted, "")
			}
		}
		add(first, api.Accepted, "")
		add(first, api.Duplicate, "")                                                    // the same event twice in one batch
		add(chargeEvent("e2", "mary", "revit", t0, 10), api.Duplicate, "")               // the same key, another event
		add(chargeEvent("e3", "mary", "revit", t0, 12), api.Refused, api.CodeConflict)   // the same key, other tokens
		add(chargeEvent("e4", "mary", "autocad", t0, 7), api.Accepted, "")               // another product
		add(chargeEvent("e5", "mary", "revit", t0.Add(2*time.Hour), 10), api.Folded, "") // overlaps e1
		add(chargeEvent("e6", "mary", "revit", t0.Add(2*charge.Day), 12), api.Refused, api.CodeWrongRate)
		filler(store.IngestChunk)                                                         // into the second chunk
		add(chargeEvent("e7", "mary", "revit", t0.Add(charge.Day), 10), api.Accepted, "") // the next window
		add(chargeEvent("e8", "mary", "revit", t0.Add(charge.Day+time.Hour), 10), api.Folded, "")
		filler(store.IngestChunk)     // into the third
		add(first, api.Duplicate, "") // applied two chunks ago
		add(chargeEvent("e9", "mary", "revit", t0.Add(charge.Day), 10), api.Duplicate, "")
		rs, err := db.Ingest(ctx, "studio", "dv_1", batch, now)
		must(t, err)
		if len(rs) != len(batch) {
			t.Fatalf("got %d results for %d events", len(rs), len(batch))
		}
		for i, r := range rs {
			if r.ID != batch[i].ID || r.Status != wants[i].status || r.Code != wants[i].code {
				t.Errorf("event %d (%s): got %s %s %q, want %s %s", i, batch[i].ID, r.Status, r.Code, r.Message, wants[i].status, wants[i].code)
			}
		}
		// e1 paid from its hold, e4 and e7: 100 - 10 - 7 - 10.
		if got := available(t, db, "studio", now); got != 73 {
			t.Errorf("available: got %d, want 73", got)
		}
		rep, err := db.Tokens(ctx, "studio", t0.Add(-charge.Day), now, now)
		must(t, err)
		// e2, e3, e5, e6, e8, e9: the answers stored with the events, not only sent.
		if got := len(rep.Refused); got != 6 {
			t.Errorf("refused, duplicate or folded charges in the report: got %d, want 6", got)
		}

		again, err := db.Ingest(ctx, "studio", "dv_1", batch, now.Add(time.Hour))
		must(t, err)
		for i, r := range again {
			if r.Status != api.Duplicate {
				t.Errorf("event %d (%s) sent again: got %s, want duplicate", i, batch[i].ID, r.Status)
			}
		}
		if got := available(t, db, "studio", now.Add(time.Hour)); got != 73 {
			t.Errorf("available after the batch again: got %d, want 73", got)
		}
	})
}

// A batch costs the same number of statements whatever its size, and few.
func TestIngestStatements(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.URL(t, kind))
			must(t, err)
			defer db.Close()
			fixture(t, db, charge.MaxPack)
			for i := range 200 {
				must(t, err2(db.PutUser(ctx, "studio", fmt.Sprint("u", i), api.PutUser{})))
			}
			var n atomic.Int64
			db.CountStatements(&n)
			batch := func(from, size int) []api.Event {
				var out []api.Event
				for i := from; len(out) < size; i++ {
					u := fmt.Sprint("u", i)
					out = append(out, chargeEvent(fmt.Sprint("c", i), u, "revit", t0, 10),
						api.Event{ID: fmt.Sprint("o", i), Effect: charge.Effect{Kind: charge.Opened, At: t0, User: u, Product: "autocad", Reason: charge.InGrace}})
				}
				return out
			}
			now := t0.Add(time.Hour)
			var counts []int64
			for _, tt := range []struct {
				from, size int
			}{{0, 10}, {10, 100}} {
				n.Store(0)
				rs, err := db.Ingest(ctx, "studio", "dv_1", batch(tt.from, tt.size), now)
				must(t, err)
				for _, r := range rs {
					if r.Status != api.Accepted {
						t.Fatalf("%s: got %s %s, want accepted", r.ID, r.Status, r.Message)
					}
				}
				t.Logf("%d events: %d statements", tt.size, n.Load())
				if got := n.Load(); got > 20 {
					t.Errorf("a batch of %d events (half of them charges): got %d statements, want at most 20", tt.size, got)
				}
				counts = append(counts, n.Load())
			}
			if counts[0] != counts[1] {
				t.Errorf("statements for 10 and 100 events: got %d and %d, want the same", counts[0], counts[1])
			}

			// A launch: BEGIN, the catalogue, the user with subscriptions, open windows, the
			// team's decision lock (PostgreSQL), the team with its packs and holds, caps, the
			// hold, the caps' notices, COMMIT (14 before the catalogue was read once,
			// subscriptions joined, the device's holds taken from the pool and the team
			// read in one statement).
			n.Store(0)
			a, err := db.Authorize(ctx, "studio", "dv_1", api.Authorize{User: "u150", Product: "autocad"}, now)
			must(t, err)
			if a.Decision.Reason != charge.InGrace {
				t.Fatalf("authorize: got %s, want in grace", a.Decision.Reason)
			}
			t.Logf("authorize: %d statements", n.Load())
			if got := n.Load(); got > 10 {
				t.Errorf("authorize: got %d statements, want at most 10", got)
			}
		})
	}
}
