package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// raw sends body as it is, with token, and returns the status and the decoded error.
func raw(t *testing.T, url, token, method, path, body string) (int, api.Error) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			t.Errorf("%s %s answered %d with %q: want a JSON error with a code and a message", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, eb.Error
}

// TestBadInput sends malformed and out-of-range requests: each gets a clear 4xx and
// nothing is stored.
func TestBadInput(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.studio(t, "studio", 100)
		var tok api.Token
		do(t, e.super, "POST", "/v1/admin/teams/studio/enroll-tokens", api.NewEnrollToken{}, &tok)
		var dev api.Enrolled
		do(t, e.super, "POST", "/v1/enroll", api.Enroll{Token: tok.Token, Name: "pc"}, &dev)
		future := e.clock.Now().Add(1000 * charge.Day).Format(time.RFC3339)
		start := e.clock.Now().Format(time.RFC3339)
		ev := func(fields string) string {
			return fmt.Sprintf(`{"events":[{"id":"e1","kind":"charged","at":%q,"user":"mary.studio","product":"revit",
				"key":{"team":"studio","user":"mary.studio","product":"revit","start":%q},"tokens":10%s}]}`, start, start, fields)
		}
		tests := []struct {
			name, path, body string
			admin            bool
			want             int
		}{
			{"malformed JSON", "/v1/events", `{"events":[{"id":`, false, 400},
			{"not an object", "/v1/events", `[1,2,3]`, false, 400},
			{"two objects", "/v1/events", `{"events":[]} {"events":[]}`, false, 400},
			{"unknown field", "/v1/events", `{"events":[],"debit":5}`, false, 400},
			{"unknown event field", "/v1/events", ev(`,"bonus":1`), false, 400},
			{"negative tokens", "/v1/events", strings.Replace(ev(""), `"tokens":10`, `"tokens":-10`, 1), false, 422},
			{"huge tokens", "/v1/events", strings.Replace(ev(""), `"tokens":10`, `"tokens":99999999999999999999`, 1), false, 400},
			{"huge float tokens", "/v1/events", strings.Replace(ev(""), `"tokens":10`, `"tokens":1e300`, 1), false, 400},
			{"unknown product", "/v1/events", strings.ReplaceAll(ev(""), `"revit"`, `"nosuch"`), false, 422},
			{"far future", "/v1/events", strings.ReplaceAll(ev(""), start, future), false, 422},
			{"time not a time", "/v1/events", strings.Replace(ev(""), start, "tomorrow", 1), false, 400},
			{"too many events", "/v1/events", `{"events":[` + strings.Repeat(`{"id":"x","kind":"opened"},`, 1000) + `{"id":"x","kind":"opened"}]}`, false, 413},
			{"authorize unknown product", "/v1/authorize", `{"user":"mary.studio","product":"nosuch"}`, false, 404},
			{"authorize unknown field", "/v1/authorize", `{"user":"mary.studio","product":"revit","tokens":1}`, false, 400},
			{"authorize bad user", "/v1/authorize", `{"user":"../etc","product":"revit"}`, false, 400},
			{"release empty", "/v1/release", `{"hold":""}`, false, 400},
			{"pack negative", "/v1/admin/teams/studio/packs", `{"tokens":-100}`, true, 422},
			{"pack huge", "/v1/admin/teams/studio/packs", `{"tokens":9223372036854775807}`, true, 400},
			{"pack overflow", "/v1/admin/teams/studio/packs", `{"tokens":9223372036854775808}`, true, 400},
			{"pack as string", "/v1/admin/teams/studio/packs", `{"tokens":"100"}`, true, 400},
			{"rate zero", "/v1/admin/products/maya", `{"rate":0}`, true, 400},
			{"rate huge", "/v1/admin/products/maya", `{"rate":100000000000}`, true, 400},
			{"threshold percent 500", "/v1/admin/teams/studio/settings", `{"threshold_percent":500}`, true, 400},
			{"webhook not a URL", "/v1/admin/teams/studio/settings", `{"webhook":"ftp:/x"}`, true, 400},
			{"restrict unknown product", "/v1/admin/teams/studio/restrictions", `{"products":["nosuch"]}`, false, 0},
			{"user unknown product", "/v1/admin/teams/studio/users/sue", `{"products":["nosuch"]}`, true, 400},
			{"subscription unknown product", "/v1/admin/teams/studio/users/mary.studio/subscriptions", `{"product":"nosuch","from":"2025-01-01T00:00:00Z"}`, true, 400},
			{"subscription backwards", "/v1/admin/teams/studio/users/mary.studio/subscriptions", `{"product":"revit","from":"2025-01-01T00:00:00Z","until":"2024-01-01T00:00:00Z"}`, true, 400},
			{"team bad id", "/v1/admin/teams", `{"id":"a b/c"}`, true, 400},
			{"enroll bad validity", "/v1/admin/teams/studio/enroll-tokens", `{"valid_for":"-5h"}`, true, 400},
		}
		methods := map[string]string{"/v1/admin/products/maya": "PUT", "/v1/admin/teams/studio/settings": "PUT",
			"/v1/admin/teams/studio/restrictions": "PUT", "/v1/admin/teams/studio/users/sue": "PUT"}
		superTok := e.superToken(t)
		before := e.balance(t, "studio")
		for _, tt := range tests {
			if tt.want == 0 {
				continue
			}
			m := methods[tt.path]
			if m == "" {
				m = "POST"
			}
			tok := dev.Credential
			if tt.admin {
				tok = superTok
			}
			got, er := raw(t, e.url, tok, m, tt.path, tt.body)
			if got != tt.want {
				t.Errorf("%s: got %d %+v, want %d", tt.name, got, er, tt.want)
			}
		}
		if after := e.balance(t, "studio"); after != before {
			t.Errorf("balance after bad input: got %+v, want %+v", after, before)
		}
		var rep []api.UsageRow
		do(t, e.super, "GET", "/v1/admin/teams/studio/reports/usage?from=2025-01-01&to=2027-01-01", nil, &rep)
		var packs []api.Pack
		do(t, e.super, "GET", "/v1/admin/teams/studio/packs", nil, &packs)
		var products []api.Product
		do(t, e.super, "GET", "/v1/admin/products", nil, &products)
		var users []api.User
		do(t, e.super, "GET", "/v1/admin/teams/studio/users", nil, &users)
		if len(rep) != 0 || len(packs) != 1 || len(products) != 2 || len(users) != 2 || len(users[0].Subscriptions)+len(users[1].Subscriptions) != 1 {
			t.Errorf("stored after bad input: usage %v, %d packs, %d products, users %+v; want nothing new", rep, len(packs), len(products), users)
		}
	})
}

// TestReplay sends each batch 5 times at once: every charge debits once.
func TestReplay(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dev := e.studio(t, "studio", 1000)
		other := e.device(t, "studio", "pc2")
		e.clock.Set(monday.Add(14 * charge.Day))
		var batches [][]api.Event
		for b := range 4 {
			var batch []api.Event
			for i := range 25 {
				day := monday.Add(time.Duration(b*25+i) * time.Hour * 3)
				user := []string{"mary.studio", "john.studio"}[i%2]
				batch = append(batch, charged(fmt.Sprint("b", b, "e", i), "studio", user, "revit", day, 10, ""))
			}
			batches = append(batches, batch)
		}
		var wg sync.WaitGroup
		results := make([][][]api.Result, len(batches))
		for i, batch := range batches {
			results[i] = make([][]api.Result, 5)
			for r := range 5 {
				c := dev
				if r == 4 {
					c = other // the same charges from a second device
				}
				wg.Go(func() {
					rs, err := c.Ingest(ctx, batch)
					if err != nil {
						t.Errorf("batch %d, replay %d: %v", i, r, err)
					}
					results[i][r] = rs
				})
			}
		}
		wg.Wait()
		var accepted int
		for _, rb := range results {
			for _, rs := range rb {
				for _, r := range rs {
					if r.Status == api.Accepted {
						accepted++
					}
				}
			}
		}
		// Windows of one user 6 hours apart overlap: of mary's and john's charges every
		// 6 hours, the first of each 24-hour span stands and the rest fold.
		var rep api.TokenReport
		do(t, e.super, "GET", "/v1/admin/teams/studio/reports/tokens?from=2025-11-01&to=2026-01-01", nil, &rep)
		var charges, tokens int64
		for _, d := range rep.Daily {
			charges += d.Charges
			tokens += d.Tokens
		}
		if int64(accepted) != charges || tokens != 10*charges {
			t.Errorf("accepted %d, report %d charges of %d tokens: want equal, 10 each", accepted, charges, tokens)
		}
		if got, want := e.balance(t, "studio").Available, 1000-tokens; got != want {
			t.Errorf("available: got %d, want %d", got, want)
		}
		// Sent again 31 days later: nothing more.
		e.clock.Set(e.clock.Now().Add(31 * charge.Day))
		for _, batch := range batches {
			rs, err := dev.Ingest(ctx, batch)
			must(t, err)
			for _, r := range rs {
				if r.Status != api.Duplicate {
					t.Fatalf("31 days later: got %+v, want duplicate", r)
				}
			}
		}
		if got, want := e.balance(t, "studio").Available, 1000-tokens; got != want {
			t.Errorf("available 31 days later: got %d, want %d", got, want)
		}
	})
}
