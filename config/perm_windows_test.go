package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestPermissionsWindowsFile: a file this account just made, owned by it with the access list it
// inherited, loads. (Wine keeps no access list set on a file in this prefix: it makes one from
// the Unix mode on each read, so the refusals below are checked on security descriptors.)
func TestPermissionsWindowsFile(t *testing.T) {
	path := filepath.Join(wineTempDir(t), "tollgate.yaml")
	if err := os.WriteFile(path, []byte("products: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkPath(path, configFile); err != nil {
		t.Fatalf("got %v, want no error", err)
	}
}

// wineTempDir is t.TempDir for Wine 8, where os.RemoveAll fails ("Invalid function": Go's
// RemoveAll deletes through handles with a file information class Wine lacks) but os.Remove works.
func wineTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "tollgate-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error { paths = append(paths, p); return nil })
		for i := len(paths) - 1; i >= 0; i-- {
			os.Remove(paths[i])
		}
	})
	return dir
}

// TestPermissionsWindows checks access lists as Windows parses them from SDDL, and that each
// fix-it command is one an administrator can paste into cmd.exe: the path in plain double quotes, its backslashes
// single (Go's %q doubled them, and icacls then finds no such file).
func TestPermissionsWindows(t *testing.T) {
	tests := []struct {
		name    string
		sddl    string
		wantMsg []string // "" wants no error; PATH stands for the file's path
	}{
		{"administrators and SYSTEM only", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)", nil},
		{"users may read", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)", nil},
		{"users may write", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;BU)", []string{
			`BUILTIN\Users may write it`, `icacls "PATH" /inheritance:d, then icacls "PATH" /remove:g *S-1-5-32-545`}},
		{"everyone may append", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x4;;;WD)", []string{
			`icacls "PATH" /inheritance:d, then icacls "PATH" /remove:g *S-1-1-0`}},
		{"owned by users", "O:BUD:P(A;;FA;;;SY)(A;;FA;;;BA)", []string{
			`not SYSTEM or Administrators`, `icacls "PATH" /setowner Administrators`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := `C:\ProgramData\tollgate\conf.d\30-open.yaml`
			sd, err := windows.SecurityDescriptorFromString(tt.sddl)
			if err != nil {
				t.Fatal(err)
			}
			err = checkSD(sd, path)
			if tt.wantMsg == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.wantMsg)
			}
			msg := err.Error()
			for _, w := range tt.wantMsg {
				if w = strings.ReplaceAll(w, "PATH", path); !strings.Contains(msg, w) {
					t.Errorf("got %q, want it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, `\\`) {
				t.Errorf("got %q, want no doubled backslash", msg)
			}
		})
	}
}
