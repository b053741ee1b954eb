package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIdlePolicy(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		when    WhenIdle
		after   time.Duration
		wantErr string
	}{
		{"defaults", "", IdleRenew, 2 * time.Hour, ""},
		{"close after 3h", "policy:\n  renewal_when_idle: close\n  idle_after: 3h\n", IdleClose, 3 * time.Hour, ""},
		{"unknown value", "policy:\n  renewal_when_idle: kill\n", "", 0, `config.yaml:7: policy.renewal_when_idle: unknown value "kill": use renew or close`},
		{"a typo of minutes for hours", "policy:\n  idle_after: 2m\n", "", 0, "config.yaml:7: policy.idle_after: 2m0s: write how long without input and CPU makes a product idle, from 15m0s to 24h0m0s"},
		{"over a day", "policy:\n  idle_after: 48h\n", "", 0, "policy.idle_after: 48h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"config.yaml": base + tt.policy})
			c, err := Load(filepath.Join(dir, "config.yaml"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Policy.RenewalWhenIdle != tt.when || c.Policy.IdleAfter != tt.after {
				t.Errorf("got %s after %v, want %s after %v", c.Policy.RenewalWhenIdle, c.Policy.IdleAfter, tt.when, tt.after)
			}
		})
	}
}

func TestNightlyClosePolicy(t *testing.T) {
	for _, tt := range []struct{ value, wantErr string }{
		{`"02:00"`, ""}, {`"23:59"`, ""}, {`"2:00"`, "policy.nightly_close"}, {`"25:00"`, "policy.nightly_close"}, {`tonight`, `"tonight": write a time of day as HH:MM`},
	} {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"config.yaml": base + "policy:\n  nightly_close: " + tt.value + "\n"})
		c, err := Load(filepath.Join(dir, "config.yaml"))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got %v, want it taken", tt.value, err)
		case tt.wantErr == "" && c.Policy.NightlyClose != strings.Trim(tt.value, `"`):
			t.Errorf("%s: got %q", tt.value, c.Policy.NightlyClose)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got %v, want an error with %q", tt.value, err, tt.wantErr)
		}
	}
}
