package up

import (
	"encoding/json"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestNoticeText: each kind of notice the ledger raises reads as a sentence on up's
// console, from the payload the ledger writes for it.
func TestNoticeText(t *testing.T) {
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	notice := func(kind api.NoticeKind, payload any) api.Notification {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		return api.Notification{Team: "studio", Kind: kind, Payload: b}
	}
	cap := charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 64, From: at}
	tests := []struct {
		n    api.Notification
		want string
	}{
		{notice(api.NoticeLow, charge.Alert{Kind: charge.AlertLow, Team: "studio", Available: 40, Threshold: 50, At: at}),
			"team studio is low on tokens: 40 left, below its threshold of 50"},
		{notice(api.NoticeEmpty, charge.Alert{Kind: charge.AlertEmpty, Team: "studio", At: at}), "team studio has no tokens left; buy a pack"},
		{notice(api.NoticeExpiring, api.Expiring{Team: "studio"}), "some of team studio's tokens expire within 90 days"},
		{notice(api.NoticeOverdraw, store.Overdraw{Kind: api.NoticeOverdraw, Team: "studio", Debt: 7, Added: 7, At: at}),
			"team studio is 7 tokens in debt: a renewal went past its balance; buy a pack"},
		{notice(api.NoticeBudget, api.BudgetNotice{Kind: api.NoticeBudget, Level: 80, Budget: cap, Limit: 80, At: at}),
			"the cap on user mary reached 80 % (64 of 80 tokens a month)"},
		{notice("something_new", map[string]int{}), "something new for team studio"},
	}
	for _, tt := range tests {
		if got := noticeText(tt.n); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.n.Kind, got, tt.want)
		}
	}
}
