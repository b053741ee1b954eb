//go:build unix

package config

import (
	"fmt"
	"os"
	"syscall"
)

// checkPerm refuses, as sshd's StrictModes and Beats do, a file or folder that someone
// other than root or the agent's own user owns or can write: they could change what is
// licensed.
func checkPerm(f *os.File, path string, what target) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot check permissions: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot check permissions: no owner in %T", fi.Sys())
	}
	if euid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != euid {
		return fmt.Errorf("owned by uid %d, which is neither root nor the agent's user (uid %d), so that user can change licensing; run: chown root %s", st.Uid, euid, path)
	}
	mode := fi.Mode()
	if mode.Perm()&0o022 != 0 && !(what == mainDir && mode&os.ModeSticky != 0) {
		return fmt.Errorf("writable by group or others (mode %04o), so any of them can change licensing; run: chmod go-w %s", mode.Perm(), path)
	}
	return nil
}
