package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/clock/clocktest"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// BenchmarkIngestExecMode is BenchmarkIngest on PostgreSQL under each of pgx's query
// modes the ledger can be told to use (default_query_exec_mode in its URL): "exec", what a
// ledger behind PgBouncer in transaction mode needs, against pgx's default and the
// ledger's, "cache_statement" (named prepared statements, which that PgBouncer breaks),
// and "cache_describe". It reports each mode's events per second and exec's ratio to
// cache_statement, measured in the same run, the modes taking turns batch by batch.
//
//	go test -run '^$' -bench IngestExecMode -benchtime 100x ./ledger/
func BenchmarkIngestExecMode(b *testing.B) {
	modes := []string{"cache_statement", "cache_describe", "exec"}
	ctx := context.Background()
	devs := map[string]*client.Client{}
	for _, mode := range modes {
		e := &env{dbURL: storetest.URL(b, "postgres") + "&default_query_exec_mode=" + mode, clock: clocktest.New(bought)}
		e.db = open(b, e.dbURL)
		tok := store.NewSecret("tga_")
		must(b, e.db.CreateAdminToken(ctx, "", "super", tok, bought))
		e.srv, e.url = serve(b, e.db, e.clock, 0)
		e.super = client.New(e.url, tok, nil)
		devs[mode] = e.studio(b, "studio", charge.MaxPack)
		users(b, e.db, "studio", 1000)
		e.clock.Set(bought.Add(time.Hour).Add(390 * charge.Day))
	}
	base := bought.Add(time.Hour)
	spent := map[string]time.Duration{}
	b.ResetTimer()
	for n := range b.N {
		for _, mode := range modes {
			batch := make([]api.Event, 0, 100)
			for j := range 25 {
				k := n*25 + j
				user := fmt.Sprint("u", k%1000)
				st := base.Add(time.Duration(k/1000) * charge.Day)
				batch = append(batch, charged(fmt.Sprint("c", k), "studio", user, "revit", st, 10, ""),
					api.Event{ID: fmt.Sprint("o", k), Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "revit", Reason: charge.InGrace}},
					api.Event{ID: fmt.Sprint("p", k), Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "autocad", Reason: charge.PaidWindow}},
					api.Event{ID: fmt.Sprint("x", k), Effect: charge.Effect{Kind: charge.Ended, At: st.Add(time.Hour), User: user, Product: "revit", Use: time.Hour}})
			}
			t0 := time.Now()
			rs, err := devs[mode].Ingest(ctx, batch)
			spent[mode] += time.Since(t0)
			if err != nil || rs[0].Status != api.Accepted {
				b.Fatalf("%s batch %d: %v %+v", mode, n, err, rs)
			}
		}
	}
	b.StopTimer()
	for _, mode := range modes {
		b.ReportMetric(float64(b.N*100)/spent[mode].Seconds(), mode+"-events/s")
	}
	b.ReportMetric(spent["cache_statement"].Seconds()/spent["exec"].Seconds(), "x-exec/cache_statement")
}
