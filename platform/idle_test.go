package platform

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestIdleParsers(t *testing.T) {
	now := time.Date(2026, 11, 3, 7, 59, 0, 0, time.UTC)
	home := time.Date(2026, 11, 2, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		parse   func() (time.Duration, error)
		want    time.Duration
		unknown bool
	}{
		{"logind idle since 18:00", func() (time.Duration, error) {
			return idleFromLogind("IdleHint=yes\nIdleSinceHint="+itoa64(home.UnixMicro())+"\n", now)
		}, 13*time.Hour + 59*time.Minute, false},
		{"logind not idle", func() (time.Duration, error) { return idleFromLogind("IdleHint=no\nIdleSinceHint=0\n", now) }, 0, false},
		{"logind without an answer", func() (time.Duration, error) { return idleFromLogind("", now) }, 0, true},
		{"logind idle with no instant", func() (time.Duration, error) { return idleFromLogind("IdleHint=yes\nIdleSinceHint=0\n", now) }, 0, true},
		{"xprintidle", func() (time.Duration, error) { return idleFromXprintidle("5400000\n") }, 90 * time.Minute, false},
		{"xprintidle error text", func() (time.Duration, error) { return idleFromXprintidle("couldn't open display\n") }, 0, true},
		{"ioreg", func() (time.Duration, error) {
			return idleFromIoreg(`+-o IOHIDSystem  <class IOHIDSystem>
    {
      "HIDIdleTime" = 10800000000000
    }`)
		}, 3 * time.Hour, false},
		{"ioreg without the key", func() (time.Duration, error) { return idleFromIoreg("{}") }, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.parse()
		if tt.unknown {
			if !errors.Is(err, ErrIdleUnknown) {
				t.Errorf("%s: got %v, %v; want ErrIdleUnknown", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
