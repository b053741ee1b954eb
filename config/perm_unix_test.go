//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPermissions(t *testing.T) {
	const stranger = 4242 // a uid that is neither root nor ours
	tests := []struct {
		name     string
		prepare  func(dir string) error
		opts     Options
		asRoot   bool   // it chowns files
		wantFile string // relative to the folder; "" means Load succeeds
		wantMsg  string
	}{
		{
			name:     "main file writable by everyone",
			prepare:  func(dir string) error { return os.Chmod(filepath.Join(dir, "config.yaml"), 0o666) },
			wantFile: "config.yaml",
			wantMsg:  "writable by group or others (mode 0666), so any of them can change licensing; run: chmod go-w " + "DIR/config.yaml",
		},
		{
			name:     "main file writable by its group",
			prepare:  func(dir string) error { return os.Chmod(filepath.Join(dir, "config.yaml"), 0o664) },
			wantFile: "config.yaml",
			wantMsg:  "chmod go-w DIR/config.yaml",
		},
		{
			name:     "drop-in writable by everyone",
			prepare:  func(dir string) error { return os.Chmod(filepath.Join(dir, "conf.d", "10-site.yaml"), 0o666) },
			wantFile: "conf.d/10-site.yaml",
			wantMsg:  "chmod go-w DIR/conf.d/10-site.yaml",
		},
		{
			name:     "conf.d writable by everyone",
			prepare:  func(dir string) error { return os.Chmod(filepath.Join(dir, "conf.d"), 0o777) },
			wantFile: "conf.d",
			wantMsg:  "(mode 0777), so any of them can change licensing; run: chmod go-w DIR/conf.d",
		},
		{
			name:     "conf.d writable by everyone, even if sticky",
			prepare:  func(dir string) error { return os.Chmod(filepath.Join(dir, "conf.d"), 0o777|os.ModeSticky) },
			wantFile: "conf.d",
			wantMsg:  "chmod go-w DIR/conf.d",
		},
		{
			name:     "main folder writable by everyone",
			prepare:  func(dir string) error { return os.Chmod(dir, 0o777) },
			wantFile: ".",
			wantMsg:  "chmod go-w DIR",
		},
		{
			name:    "main folder writable by everyone but sticky, like /tmp",
			prepare: func(dir string) error { return os.Chmod(dir, 0o777|os.ModeSticky) },
		},
		{
			name:     "main file owned by another user",
			asRoot:   true,
			prepare:  func(dir string) error { return os.Chown(filepath.Join(dir, "config.yaml"), stranger, stranger) },
			wantFile: "config.yaml",
			wantMsg:  "owned by uid 4242, which is neither root nor the agent's user (uid 0), so that user can change licensing; run: chown root DIR/config.yaml",
		},
		{
			name:     "drop-in owned by another user",
			asRoot:   true,
			prepare:  func(dir string) error { return os.Chown(filepath.Join(dir, "conf.d", "10-site.yaml"), stranger, 0) },
			wantFile: "conf.d/10-site.yaml",
			wantMsg:  "owned by uid 4242",
		},
		{
			name:     "conf.d owned by another user",
			asRoot:   true,
			prepare:  func(dir string) error { return os.Chown(filepath.Join(dir, "conf.d"), stranger, 0) },
			wantFile: "conf.d",
			wantMsg:  "owned by uid 4242",
		},
		{
			name:    "owned by root, group root, read-only for others",
			prepare: func(dir string) error { return os.Chmod(filepath.Join(dir, "config.yaml"), 0o640) },
		},
		{
			name:    "check turned off",
			prepare: func(dir string) error { return os.Chmod(filepath.Join(dir, "config.yaml"), 0o666) },
			opts:    Options{InsecureSkipPermissionCheck: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.asRoot && os.Geteuid() != 0 {
				t.Fatal("this case needs root to chown: run the tests as root, as CI does")
			}
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"config.yaml": base, "conf.d/10-site.yaml": "admin_contact: site IT\n"})
			if err := tt.prepare(dir); err != nil {
				t.Fatal(err)
			}
			_, err := LoadWith(filepath.Join(dir, "config.yaml"), tt.opts)
			if tt.wantFile == "" {
				if err != nil {
					t.Fatalf("LoadWith: %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("LoadWith error = %v, want an *Error", err)
			}
			wantFile := filepath.Join(dir, filepath.FromSlash(tt.wantFile))
			wantMsg := strings.ReplaceAll(tt.wantMsg, "DIR", dir)
			if e.File != wantFile || !strings.Contains(e.Msg, wantMsg) {
				t.Errorf("LoadWith error:\n got %s: %s\nwant %s: ...%s...", e.File, e.Msg, wantFile, wantMsg)
			}
		})
	}
}
