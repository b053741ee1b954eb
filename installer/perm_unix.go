//go:build unix

package installer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// requireAdmin refuses anyone but root: the service runs as root, so only root may choose
// what it runs.
func requireAdmin() error {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("%w: this runs as uid %d; run it as root (sudo, or the management tool's root context)", ErrNotAdmin, uid)
	}
	return nil
}

// checkBinary refuses a binary that anyone but root could replace, or whose folder anyone
// but root could swap it in: the service would run their program as root.
func checkBinary(path string) error {
	for _, x := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(x)
		if err != nil {
			return fmt.Errorf("checking the binary: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("checking the binary: no owner in %T", fi.Sys())
		}
		sticky := fi.IsDir() && fi.Mode()&os.ModeSticky != 0
		switch {
		case st.Uid != 0:
			return fmt.Errorf("%s is owned by uid %d, who could then run anything as root through the service: put tollgate where only root can write (such as %s) and chown root", x, st.Uid, rootOnlyBin())
		case fi.Mode().Perm()&0o022 != 0 && !sticky:
			return fmt.Errorf("%s is writable by group or others (mode %04o), who could then run anything as root through the service: chmod go-w it, or put tollgate where only root can write", x, fi.Mode().Perm())
		}
	}
	return nil
}

// rootOnlyBin is a folder for the binary that only root can write on every machine of this OS:
// on a Mac with Homebrew on Intel, /usr/local/bin belongs to a user.
func rootOnlyBin() string {
	if runtime.GOOS == "darwin" {
		return "/usr/local/tollgate/bin"
	}
	return "/usr/local/bin"
}

// secureDir makes d root's with its mode, whatever the umask.
func secureDir(d Dir) error {
	if err := os.Lchown(d.Path, 0, 0); err != nil {
		return err
	}
	return os.Chmod(d.Path, d.Mode)
}

// secureFile makes f root's with mode.
func secureFile(f *os.File, mode os.FileMode) error {
	if err := f.Chown(0, 0); err != nil {
		return err
	}
	return f.Chmod(mode)
}
