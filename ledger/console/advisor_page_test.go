package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/clock/clocktest"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// TestAdvisorPagesTheTable: a team of 130 users on two products has 260 lines of advice;
// the advisor page shows them 100 at a time, in the advisor's order, after tiles that
// count every line's verdict; its pages together hold every line the admin API's
// advisor report holds, each once, with the same words.
func TestAdvisorPagesTheTable(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.URL(t, kind))
			must(t, err)
			t.Cleanup(func() { db.Close() })
			start := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
			end := start.Add(100 * charge.Day)
			must(t, err2(db.CreateTeam(ctx, api.NewTeam{ID: "big"}, start)))
			super := store.NewSecret("tga_")
			must(t, db.CreateAdminToken(ctx, "", "super", super, start))
			for _, p := range []api.Product{{ID: "revit", Name: "Revit", Rate: 10}, {ID: "autocad", Name: "AutoCAD", Rate: 7}} {
				must(t, err2(db.PutProduct(ctx, p, start)))
			}
			must(t, err2(db.BuyPack(ctx, "big", api.BuyPack{Tokens: 1_000_000}, start)))
			tok, err := db.CreateEnrollToken(ctx, "big", start, end)
			must(t, err)
			dev, err := db.Enroll(ctx, api.Enroll{Token: tok.Token, Name: "pc"}, start)
			must(t, err)
			// User i works i%20+1 days out of every 30 on each product: some keep tokens,
			// some should move to a subscription; those from 100 on began 10 days ago.
			var evs []api.Event
			for i := range 130 {
				u := fmt.Sprintf("user%03d", i)
				must(t, err2(db.PutUser(ctx, "big", u, api.PutUser{})))
				for d := range 100 {
					if d%30 > i%20 || (i >= 100 && d < 90) {
						continue
					}
					for _, p := range []struct {
						id   string
						rate int64
					}{{"revit", 10}, {"autocad", 7}} {
						at := start.Add(time.Duration(d)*charge.Day + 9*time.Hour)
						k := charge.Key{Team: "big", User: u, Product: p.id, Start: at}
						evs = append(evs, api.Event{ID: fmt.Sprintf("%s-%s-%d", u, p.id, d),
							Effect: charge.Effect{Kind: charge.Charged, At: at.Add(charge.Grace), Device: dev.Device, User: u, Product: p.id, Key: k, Tokens: p.rate}})
					}
				}
			}
			for len(evs) > 0 {
				n := min(len(evs), 500)
				must(t, err2(db.Ingest(ctx, "big", dev.Device, evs[:n], end)))
				evs = evs[n:]
			}
			eur, one := "EUR", int64(500)
			must(t, err2(db.SetPrices(ctx, "big", api.SetPrices{Currency: &eur, TokenMilli: &one, Subscriptions: map[string]int64{"revit": 40_000, "autocad": 40_000}})))

			hs := httptest.NewServer(ledger.New(ledger.Options{Store: db, Clock: clocktest.New(end)}).Handler())
			t.Cleanup(hs.Close)
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar}
			resp, err := hc.PostForm(hs.URL+"/admin/signin", url.Values{"token": {super}})
			must(t, err)
			resp.Body.Close()
			get := func(path string, auth bool) string {
				req, _ := http.NewRequest("GET", hs.URL+path, nil)
				if auth {
					req.Header.Set("Authorization", "Bearer "+super)
				}
				resp, err := hc.Do(req)
				must(t, err)
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
				}
				return string(b)
			}
			var advice []api.Advice
			must(t, json.Unmarshal([]byte(get("/v1/admin/teams/big/reports/advisor", true)), &advice))
			if len(advice) != 260 {
				t.Fatalf("the advisor report: got %d lines, want 260 (130 users, 2 products)", len(advice))
			}
			verdicts := map[string]int{}
			for _, a := range advice {
				verdicts[a.Verdict]++
			}
			if verdicts[api.MoveSubscription] == 0 || verdicts[api.KeepTokens] == 0 || verdicts[api.TooEarly] != 60 {
				t.Fatalf("the fixture's verdicts: got %v, want some of each and 60 too early", verdicts)
			}

			row := regexp.MustCompile(`<tr class="([a-z_]+)"><th scope="row">([^<]+)</th><td>([^<]+)</td>.*?<td>([^<]+)</td></tr>`)
			var seen []api.Advice
			for _, tt := range []struct {
				query      string
				page       int
				lines      string
				prev, next bool
			}{
				{"", 1, "Lines 1 to 100 of 260", false, true},
				{"?page=2", 2, "Lines 101 to 200 of 260", true, true},
				{"?page=3", 3, "Lines 201 to 260 of 260", true, false},
			} {
				body := get("/admin/t/big/advisor"+tt.query, false)
				if !strings.Contains(body, tt.lines) || !strings.Contains(body, fmt.Sprintf("(page %d of 3)", tt.page)) {
					t.Errorf("advisor%s: want %q and page %d of 3", tt.query, tt.lines, tt.page)
				}
				if got := strings.Contains(body, `rel="prev"`); got != tt.prev {
					t.Errorf("advisor%s: a link to the previous page: got %v, want %v", tt.query, got, tt.prev)
				}
				if got := strings.Contains(body, `href="/admin/t/big/advisor?page=`+fmt.Sprint(tt.page+1)+`" rel="next"`); got != tt.next {
					t.Errorf("advisor%s: a link to page %d: got %v, want %v", tt.query, tt.page+1, got, tt.next)
				}
				for _, m := range row.FindAllStringSubmatch(body, -1) {
					seen = append(seen, api.Advice{Verdict: m[1], User: m[2], Product: m[3], Text: m[4]})
				}
				// The tiles count every line, on every page.
				for v, n := range verdicts {
					if v == api.TooEarly && !strings.Contains(body, fmt.Sprintf("<dt>Too early to tell</dt><dd>%d</dd>", n)) {
						t.Errorf("advisor%s: want the tile 'Too early to tell' at %d", tt.query, n)
					}
					if v == api.MoveSubscription && !strings.Contains(body, fmt.Sprintf("<dt>Move to a subscription</dt><dd>%d</dd>", n)) {
						t.Errorf("advisor%s: want the tile 'Move to a subscription' at %d", tt.query, n)
					}
				}
			}
			if len(seen) != len(advice) {
				t.Fatalf("the three pages: got %d lines, want the report's %d", len(seen), len(advice))
			}
			for i, a := range advice {
				want := api.Advice{Verdict: a.Verdict, User: a.User, Product: a.Product, Text: a.Text}
				if seen[i] != want {
					t.Errorf("line %d: got %+v, want the report's %+v", i+1, seen[i], want)
				}
			}
			if body := get("/admin/t/big/advisor?page=99", false); !strings.Contains(body, "Lines 201 to 260 of 260") {
				t.Errorf("advisor?page=99: want the last page")
			}
		})
	}
}

func err2[T any](_ T, err error) error { return err }
