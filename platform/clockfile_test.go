//go:build linux

package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clock")
	write := func(s string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
	}
	write("2026-11-02T08:00:00Z", 0o644)
	c, err := NewFileClock(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		content  string
		mode     os.FileMode
		wantWall string
		wantMono time.Duration
	}{
		{"2026-11-02T08:05:00Z", 0o644, "2026-11-02T08:05:00Z", time.Date(2026, 11, 2, 8, 5, 0, 0, time.UTC).Sub(fileClockEpoch)},
		{"2026-11-02T08:06:00Z 90s\n", 0o644, "2026-11-02T08:06:00Z", 90 * time.Second},
		{"garbage", 0o644, "2026-11-02T08:06:00Z", 90 * time.Second},              // kept
		{"2026-11-02T09:00:00Z", 0o666, "2026-11-02T08:06:00Z", 90 * time.Second}, // writable by others: ignored
	}
	for _, tt := range tests {
		write(tt.content, tt.mode)
		w, m := c.Read()
		if w.Format(time.RFC3339) != tt.wantWall || m != tt.wantMono {
			t.Errorf("file %q mode %v: got %v %v, want %s %v", tt.content, tt.mode, w, m, tt.wantWall, tt.wantMono)
		}
	}
	write("2026-11-02T09:00:00Z", 0o666)
	if _, err := NewFileClock(path); err == nil || !strings.Contains(err.Error(), "writable by no one else") {
		t.Errorf("got %v for a world-writable clock file, want it refused", err)
	}
}
