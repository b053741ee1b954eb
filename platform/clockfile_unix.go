//go:build !windows

package platform

import (
	"fmt"
	"os"
	"syscall"
)

// adminOnly refuses a file that a non-administrator could have written.
func adminOnly(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s must be owned by root and writable by no one else (chown root %s; chmod go-w %s)", path, path, path)
	}
	return nil
}
