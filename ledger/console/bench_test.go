package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/clock/clocktest"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// BenchmarkPages renders each console page for a team with a year of history and 500
// users (about 36,000 charged windows and 3,650 duplicate charges), against its baseline: the same report from the
// admin API as CSV (or JSON where it has no CSV), fetched alternately with the page. The
// goal is a page under 200 ms (page-ms) on an idle machine; x-baseline is the ratio.
//
//	go test -run '^$' -bench Pages -benchtime 20x ./ledger/console/
func BenchmarkPages(b *testing.B) {
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			dsn := storetest.URL(b, kind)
			db, err := store.Open(ctx, dsn)
			must(b, err)
			defer db.Close()
			end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			start := end.Add(-365 * charge.Day)
			c := clocktest.New(start)
			_, err = db.CreateTeam(ctx, api.NewTeam{ID: "big"}, start)
			must(b, err)
			super := store.NewSecret("tga_")
			must(b, db.CreateAdminToken(ctx, "", "super", super, start))
			for _, p := range []api.Product{{ID: "revit", Name: "Revit", Rate: 10}, {ID: "autocad", Name: "AutoCAD", Rate: 7}, {ID: "max", Name: "3ds Max", Rate: 12}} {
				_, err := db.PutProduct(ctx, p, start)
				must(b, err)
			}
			_, err = db.BuyPack(ctx, "big", api.BuyPack{Tokens: 10_000_000}, start)
			must(b, err)
			tok, err := db.CreateEnrollToken(ctx, "big", start, end)
			must(b, err)
			dev, err := db.Enroll(ctx, api.Enroll{Token: tok.Token, Name: "pc"}, start)
			must(b, err)
			users := make([]string, 500)
			for i := range users {
				users[i] = fmt.Sprintf("user%03d.big", i)
				_, err := db.PutUser(ctx, "big", users[i], api.PutUser{})
				must(b, err)
			}
			// Each user works one day in five, on one of three products: 500 * 73 windows.
			products := []struct {
				id   string
				rate int64
			}{{"revit", 10}, {"autocad", 7}, {"max", 12}}
			var batch []api.Event
			flush := func(now time.Time) {
				if len(batch) > 0 {
					_, err := db.Ingest(ctx, "big", dev.Device, batch, now)
					must(b, err)
					batch = batch[:0]
				}
			}
			for d := 0; d < 365; d++ {
				day := start.Add(time.Duration(d)*charge.Day + 9*time.Hour)
				for i, u := range users {
					if (i+d)%5 != 0 {
						continue
					}
					p := products[(i+d/5)%3]
					k := charge.Key{Team: "big", User: u, Product: p.id, Start: day}
					ev := api.Event{ID: fmt.Sprintf("%s-%d", u, d), Effect: charge.Effect{Kind: charge.Charged, At: day.Add(charge.Grace), Device: "pc", User: u, Product: p.id, Key: k, Tokens: p.rate}}
					batch = append(batch, ev)
					if d%10 == 0 {
						// A second device charged the same window: a duplicate, for the notices page.
						ev.ID += "-again"
						batch = append(batch, ev)
					}
				}
				if len(batch) >= 900 || d == 364 {
					flush(day.Add(time.Hour))
				}
			}
			if kind == "postgres" {
				// What autovacuum does within a minute of a bulk load: without statistics,
				// PostgreSQL's planner takes the freshly loaded year for a handful of rows.
				pg, err := sql.Open("pgx", dsn)
				must(b, err)
				_, err = pg.ExecContext(ctx, "VACUUM ANALYZE")
				must(b, err)
				pg.Close()
			}
			c.Set(end)
			srv := ledger.New(ledger.Options{Store: db, Clock: c})
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar}
			resp, err := hc.PostForm(hs.URL+"/admin/signin", url.Values{"token": {super}})
			must(b, err)
			resp.Body.Close()

			get := func(b *testing.B, path string, auth bool) time.Duration {
				req, _ := http.NewRequest("GET", hs.URL+path, nil)
				if auth {
					req.Header.Set("Authorization", "Bearer "+super)
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				must(b, err)
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(t0)
				// A page is at least its layout; a report at least its header.
				if least := map[bool]int64{false: 1000, true: 50}[auth]; resp.StatusCode != 200 || n < least {
					b.Fatalf("GET %s: %d, %d bytes", path, resp.StatusCode, n)
				}
				return took
			}
			year := "from=2025-01-01&to=2025-12-31"
			q90 := "from=" + end.Add(-90*charge.Day).Format(time.DateOnly)
			const reports = "/v1/admin/teams/big/reports/"
			// Each page is measured against its baseline, the same report as CSV from the admin
			// API, fetched alternately in the same loop so that both see the same load: the
			// ratio is the result, page-ms the absolute figure on this machine.
			for _, bc := range []struct{ name, page, baseline string }{
				{"usage_30d", "/admin/t/big/usage", reports + "usage?format=csv"},
				{"usage_year", "/admin/t/big/usage?" + year, reports + "usage?format=csv&" + year},
				{"balance", "/admin/t/big/balance", reports + "tokens?format=csv&section=history&" + q90},
				{"forecast", "/admin/t/big/forecast", reports + "forecast"},
				{"advisor", "/admin/t/big/advisor", reports + "advisor?format=csv"},
				{"users", "/admin/t/big/users", "/v1/admin/teams/big/users"},
				{"devices", "/admin/t/big/devices", "/v1/admin/teams/big/devices"},
				{"notices", "/admin/t/big/notices", reports + "tokens?format=csv&section=refused&" + q90},
			} {
				b.Run(bc.name, func(b *testing.B) {
					var page, base time.Duration
					n := 0
					for b.Loop() {
						page += get(b, bc.page, false)
						base += get(b, bc.baseline, true)
						n++
					}
					b.ReportMetric(float64(page.Microseconds())/1000/float64(n), "page-ms")
					b.ReportMetric(float64(base.Microseconds())/1000/float64(n), "baseline-ms")
					b.ReportMetric(float64(page)/float64(base), "x-baseline")
				})
			}
		})
	}
}
