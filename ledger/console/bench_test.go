package console_test

import (
	"context"
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
// users (about 36,000 charged windows), against its baseline: the same span's usage
// report as CSV from the admin API, which reads the same rows and formats them without
// charts or tables.
//
//	go test -run '^$' -bench Pages -benchtime 20x ./ledger/console/
func BenchmarkPages(b *testing.B) {
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.URL(b, kind))
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
					batch = append(batch, api.Event{ID: fmt.Sprintf("%s-%d", u, d), Effect: charge.Effect{Kind: charge.Charged, At: day.Add(charge.Grace), Device: "pc", User: u, Product: p.id, Key: k, Tokens: p.rate}})
				}
				if len(batch) >= 900 || d == 364 {
					flush(day.Add(time.Hour))
				}
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

			get := func(b *testing.B, path string, auth bool) {
				req, _ := http.NewRequest("GET", hs.URL+path, nil)
				if auth {
					req.Header.Set("Authorization", "Bearer "+super)
				}
				resp, err := hc.Do(req)
				must(b, err)
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n < 1000 {
					b.Fatalf("GET %s: %d, %d bytes", path, resp.StatusCode, n)
				}
			}
			year := "from=2025-01-01&to=2025-12-31"
			for _, bc := range []struct {
				name, path string
				api        bool
			}{
				{"baseline_csv_30d", "/v1/admin/teams/big/reports/usage?format=csv", true},
				{"usage_30d", "/admin/t/big/usage", false},
				{"baseline_csv_year", "/v1/admin/teams/big/reports/usage?format=csv&" + year, true},
				{"usage_year", "/admin/t/big/usage?" + year, false},
				{"balance", "/admin/t/big/balance", false},
				{"forecast", "/admin/t/big/forecast", false},
				{"advisor", "/admin/t/big/advisor", false},
				{"users", "/admin/t/big/users", false},
				{"devices", "/admin/t/big/devices", false},
				{"notices", "/admin/t/big/notices", false},
			} {
				b.Run(bc.name, func(b *testing.B) {
					for b.Loop() {
						get(b, bc.path, bc.api)
					}
				})
			}
		})
	}
}
