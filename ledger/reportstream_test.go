package ledger_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// TestTokenReportPages reads the daily and history sections of a token report in pages
// of every size from 1 up, in JSON lines and in CSV, and checks each way gives exactly
// the rows of the whole report, in its order, with the same running balance.
func TestTokenReportPages(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 1000, 500)
		// Charges over five days for two users, with a pack bought in between: movements
		// on several days, several per day.
		n := 0
		rate := map[string]int64{"revit": 10, "autocad": 7}
		for d := range 5 {
			for h, p := range []string{"revit", "autocad"} {
				for _, u := range []string{"mary.studio", "john.studio"} {
					n++
					st := monday.Add(time.Duration(d)*charge.Day + time.Duration(h)*time.Hour)
					e.clock.Set(st.Add(time.Hour))
					rs, err := dev.Ingest(ctx, []api.Event{charged(fmt.Sprint("c", n), "studio", u, p, st, rate[p], "")})
					if err != nil || rs[0].Status != api.Accepted {
						t.Fatalf("charge %d: %v %+v", n, err, rs)
					}
				}
			}
			if d == 2 {
				do(t, e.super, "POST", "/v1/admin/teams/studio/packs", api.BuyPack{Tokens: 200}, nil)
			}
		}
		span := "from=" + monday.Add(charge.Day).Format(time.RFC3339) + "&to=" + monday.Add(4*charge.Day+2*time.Hour).Format(time.RFC3339)
		var whole api.TokenReport
		do(t, e.super, "GET", "/v1/admin/teams/studio/reports/tokens?"+span, nil, &whole)
		if len(whole.History) < 10 || len(whole.Daily) < 4 {
			t.Fatalf("whole report: %d movements, %d daily rows; want a few of each", len(whole.History), len(whole.Daily))
		}

		for _, limit := range []int{1, 2, 3, 7, len(whole.History), 1000} {
			var daily []api.TokenDay
			pages(t, e, "daily", span, limit, func(b []byte) string {
				var p struct {
					Rows []api.TokenDay
					Next string
				}
				must(t, json.Unmarshal(b, &p))
				daily = append(daily, p.Rows...)
				return p.Next
			})
			if !reflect.DeepEqual(daily, whole.Daily) {
				t.Errorf("daily in pages of %d: got %+v, want %+v", limit, daily, whole.Daily)
			}
			var hist []api.Movement
			pages(t, e, "history", span, limit, func(b []byte) string {
				var p struct {
					Rows []api.Movement
					Next string
				}
				must(t, json.Unmarshal(b, &p))
				hist = append(hist, p.Rows...)
				return p.Next
			})
			if !reflect.DeepEqual(hist, whole.History) {
				t.Errorf("history in pages of %d: got %+v, want %+v", limit, hist, whole.History)
			}
		}

		// JSON lines: one row a line, the whole section.
		b, err := e.super.Raw(ctx, "GET", "/v1/admin/teams/studio/reports/tokens?format=jsonl&section=history&"+span)
		must(t, err)
		var lines []api.Movement
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var m api.Movement
			must(t, json.Unmarshal(sc.Bytes(), &m))
			lines = append(lines, m)
		}
		if !reflect.DeepEqual(lines, whole.History) {
			t.Errorf("history as JSON lines: got %+v, want %+v", lines, whole.History)
		}

		// CSV, streamed: a header and one record per movement, the balances the same.
		body, err := e.super.Stream(ctx, "/v1/admin/teams/studio/reports/tokens?format=csv&section=history&"+span)
		must(t, err)
		recs, err := csv.NewReader(body).ReadAll()
		body.Close()
		must(t, err)
		if got, want := len(recs), len(whole.History)+1; got != want {
			t.Fatalf("history CSV: got %d records, want %d", got, want)
		}
		for i, m := range whole.History {
			if got, want := recs[i+1][8], fmt.Sprint(m.Balance); got != want {
				t.Errorf("history CSV row %d balance: got %s, want %s", i+1, got, want)
			}
		}
	})
}

// pages reads a section in pages of limit rows until the last, and checks that no page
// is longer than asked and that only the last is short.
func pages(t *testing.T, e *env, section, span string, limit int, read func([]byte) string) {
	t.Helper()
	cursor := ""
	for i := 0; ; i++ {
		q := fmt.Sprintf("/v1/admin/teams/studio/reports/tokens?section=%s&limit=%d&%s", section, limit, span)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		b, err := e.super.Raw(context.Background(), "GET", q)
		must(t, err)
		if cursor = read(b); cursor == "" {
			return
		}
		if i > 1000 {
			t.Fatalf("%s in pages of %d: more than 1000 pages", section, limit)
		}
	}
}

// TestTokenReportPageErrors: a bad limit or cursor, or a page of a format that streams,
// is refused with a sentence; an unknown team is not found, in every format.
func TestTokenReportPageErrors(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.studio(t, "studio", 100)
		base := "/v1/admin/teams/studio/reports/tokens?"
		tests := []struct {
			q    string
			want int
		}{
			{base + "section=history&limit=0", 400},
			{base + "section=history&limit=10001", 400},
			{base + "section=history&limit=x", 400},
			{base + "section=history&cursor=nonsense", 400},
			{base + "section=daily&cursor=bm9uc2Vuc2U", 400},
			{base + "limit=10", 400},
			{base + "format=csv&section=history&limit=10", 400},
			{base + "format=jsonl&section=refused&limit=10", 400},
			{base + "format=xml", 400},
			{base + "section=nothing", 400},
			{"/v1/admin/teams/nobody/reports/tokens?format=csv", 404},
			{"/v1/admin/teams/nobody/reports/tokens?format=jsonl&section=history", 404},
			{"/v1/admin/teams/nobody/reports/tokens?section=daily&limit=5", 404},
			{base + "format=jsonl&section=packs", 200},
			{base + "section=refused", 200},
		}
		for _, tt := range tests {
			body, err := e.super.Stream(context.Background(), tt.q)
			if err == nil {
				io.Copy(io.Discard, body)
				body.Close()
			}
			if got := status(t, err); got != tt.want {
				t.Errorf("GET %s: got %d (%v), want %d", tt.q, got, err, tt.want)
			}
		}
	})
}
