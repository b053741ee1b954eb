package agent_test

import (
	"testing"

	"tollgate/agent"
)

// TestTeamLeftNeverNegative (issue 9, item 6): users were told "your team has -15 left".
// A team at or below zero has "no tokens left"; only a positive balance is a number.
func TestTeamLeftNeverNegative(t *testing.T) {
	tests := []struct {
		available int64
		want      string
	}{
		{-15, "no tokens left"},
		{0, "no tokens left"},
		{1, "1 left"},
		{90, "90 left"},
	}
	for _, tt := range tests {
		if got := agent.TeamLeft(tt.available); got != tt.want {
			t.Errorf("TeamLeft(%d): got %q, want %q", tt.available, got, tt.want)
		}
	}
}
