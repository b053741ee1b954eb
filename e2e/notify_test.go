//go:build linux

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestLowBalanceReachesAdmins: real use through an agent takes the team below its
// threshold, and the ledger POSTs the notice to the team's webhook.
func TestLowBalanceReachesAdmins(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()

	s := newSystem(t, "sqlite", 100)
	s.ledger.CLI("settings", "--team", "studio", "--webhook", hook.URL)
	s.spend(t, 75) // 25 left; the threshold is 20 % of 100
	r := s.agent()
	play(t, r, []step{{at: 0, start: "bin/revit", as: "r"}, {at: 6 * time.Minute}}) // 15 left

	deadline := time.Now().Add(40 * time.Second) // the ledger delivers every 10 s
	for time.Now().Before(deadline) {
		mu.Lock()
		for _, m := range got {
			if m["kind"] == "low_balance" {
				mu.Unlock()
				return
			}
		}
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Errorf("got webhook posts %v, want a low_balance notice", got)
}
