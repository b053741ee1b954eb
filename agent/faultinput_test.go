package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tollgate/agent"
	"tollgate/charge"
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
		if got := charge.TeamLeft(tt.available); got != tt.want {
			t.Errorf("TeamLeft(%d): got %q, want %q", tt.available, got, tt.want)
		}
	}
}

// TestSnapshotTimeRange (issue 9, item 3): an entitlement file's times are held to the
// range the ledger accepts, 2000-01-01 to 2200-01-01; the edges load.
func TestSnapshotTimeRange(t *testing.T) {
	tests := []struct {
		name, sub, want string
	}{
		{"until 9999", "{product: revit, from: 2026-01-01T00:00:00Z, until: 9999-12-31T00:00:00Z}", "2000-01-01 to 2200-01-01"},
		{"from 1970", "{product: revit, from: 1970-01-01T00:00:00Z}", "2000-01-01 to 2200-01-01"},
		{"the edges", "{product: revit, from: 2000-01-01T00:00:00Z, until: 2200-01-01T00:00:00Z}", ""},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "entitlement.yaml")
		doc := "as_of: 2026-11-02T08:00:00Z\nrates: {revit: 10}\navailable: {studio: 100}\nusers:\n  - {user: mary, team: studio, assigned: true, subscriptions: [" + tt.sub + "]}\n"
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := agent.LoadSnapshot(path)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want it loaded", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
}
