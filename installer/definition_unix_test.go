//go:build unix

package installer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSecureDefinitionWhateverTheUmask writes a LaunchDaemon plist as kardianos does
// (os.Create, so the mode follows the umask) under the umasks a management tool may run with,
// owned by a user, and checks that securing it leaves what launchd loads: root:wheel, 0644.
func TestSecureDefinitionWhateverTheUmask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root, to give files away")
	}
	for _, umask := range []int{0o000, 0o002, 0o022, 0o077} {
		old := syscall.Umask(umask)
		path := filepath.Join(t.TempDir(), DarwinAgentLabel+".plist")
		f, err := os.Create(path)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chown(path, 501, 20); err != nil { // a Mac's first user, group staff
			t.Fatal(err)
		}
		if err := secureDefinition(path); err != nil {
			t.Fatalf("umask %04o: %v", umask, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o644 || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("umask %04o: got mode %04o owner %d:%d, want 0644 owner 0:0", umask, fi.Mode().Perm(), st.Uid, st.Gid)
		}
	}
}
