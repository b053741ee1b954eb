package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

// TestHoldNames: each way of naming a hold, with the exact words, since holds a ledger
// placed before an upgrade are settled by the names an agent sends after it.
func TestHoldNames(t *testing.T) {
	k := charge.Key{Team: "studio", User: "mary@studio.example", Product: "revit", Start: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
	tests := []struct {
		name, got, want string
	}{
		{"launch", charge.LaunchHold("ws1-1a2b", "4242@1730000000"), "ws1-1a2b|4242@1730000000"},
		{"window", charge.WindowHold("ws1-1a2b", k), "ws1-1a2b|studio/mary@studio.example/revit/2026-11-02T08:00:00Z"},
		{"effect", charge.Effect{Device: "ws1-1a2b", Key: k}.HoldID(), "ws1-1a2b|studio/mary@studio.example/revit/2026-11-02T08:00:00Z"},
		{"effect naming its hold", charge.Effect{Device: "ws1-1a2b", Key: k, Hold: "ws1-1a2b|4242@1730000000"}.HoldID(), "ws1-1a2b|4242@1730000000"},
		{"at the ledger", charge.LedgerHold("dv_9f", "ws1-1a2b|4242@1730000000"), "dv_9f/ws1-1a2b|4242@1730000000"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}

	for _, tt := range []struct {
		id     string
		device string
		key    charge.Key
		ok     bool
	}{
		{charge.WindowHold("ws1", k), "ws1", k, true},
		{charge.LaunchHold("ws1", "4242@1730000000"), "", charge.Key{}, false},
		{"ws1|studio/mary/revit/not-a-time", "", charge.Key{}, false},
		{"no device", "", charge.Key{}, false},
	} {
		dev, key, ok := charge.ParseWindowHold(tt.id)
		if dev != tt.device || key != tt.key || ok != tt.ok {
			t.Errorf("ParseWindowHold(%q): got %q %+v %v, want %q %+v %v", tt.id, dev, key, ok, tt.device, tt.key, tt.ok)
		}
	}
}
