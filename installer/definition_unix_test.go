//go:build unix

package installer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLaunchDaemonPlistModeWhateverTheUmask places the LaunchDaemon plist as the macOS
// manager's register does, under the umasks a management tool may run with, over nothing and
// over a plist an earlier version left group- and world-writable and a user's (kardianos
// created it with os.Create): launchd loads only a root:wheel plist that no one else can write.
func TestLaunchDaemonPlistModeWhateverTheUmask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root, to own files as root")
	}
	daemon := planFor(t, "darwin").filesOf(RoleService)[0]
	for _, umask := range []int{0o000, 0o002, 0o022, 0o077} {
		for _, earlier := range []bool{false, true} {
			f := daemon
			f.Path = filepath.Join(t.TempDir(), "Library", "LaunchDaemons", filepath.Base(daemon.Path))
			if earlier {
				if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f.Path, []byte("old"), 0o666); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(f.Path, 0o666); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(f.Path, 501, 20); err != nil { // a Mac's first user, group staff
					t.Fatal(err)
				}
			}
			old := syscall.Umask(umask)
			err := writeFile(f)
			syscall.Umask(old)
			if err != nil {
				t.Fatalf("umask %04o: %v", umask, err)
			}
			fi, err := os.Stat(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != 0o644 || st.Uid != 0 || st.Gid != 0 {
				t.Errorf("umask %04o, earlier plist %v: got mode %04o owner %d:%d, want 0644 owner 0:0",
					umask, earlier, fi.Mode().Perm(), st.Uid, st.Gid)
			}
			if got, _ := os.ReadFile(f.Path); string(got) != string(daemon.Data) {
				t.Errorf("umask %04o, earlier plist %v: the plist does not hold the rendered LaunchDaemon", umask, earlier)
			}
		}
	}
}
