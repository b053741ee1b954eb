package charge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSessionJSONSeconds(t *testing.T) {
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    Session
		want []string
	}{
		{"grace", Session{User: "mary", Product: "revit", State: "grace", Start: start, GraceLeft: 150 * time.Second, Use: 90500 * time.Millisecond, Procs: 1, Running: true},
			[]string{`"grace_left_seconds":150`, `"use_seconds":90.5`}},
		{"paid", Session{User: "mary", Product: "revit", State: "paid", Start: start, Until: start.Add(24 * time.Hour), Use: time.Hour},
			[]string{`"use_seconds":3600`, `"until":"2026-11-03T08:00:00Z"`}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.s)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: got %s, want it to contain %s", tt.name, b, w)
			}
		}
		if strings.Contains(string(b), "grace_left\"") || strings.Contains(string(b), "000000000") {
			t.Errorf("%s: got %s, want no nanosecond durations", tt.name, b)
		}
		var back Session
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back != tt.s {
			t.Errorf("%s: round trip got %+v, want %+v", tt.name, back, tt.s)
		}
	}
}
