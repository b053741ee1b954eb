//go:build unix

package platform

import "golang.org/x/sys/unix"

// RaiseNoFile raises the soft limit on open descriptors to the hard limit and returns the
// limit now in force. A service that watches processes, journals and serves local callers
// needs its descriptors: the soft limit (often 1,024) is a default for interactive
// programs, and the hard limit is what the administrator allows.
func RaiseNoFile() (uint64, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur < r.Max {
		want := r
		want.Cur = want.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
			return r.Cur, err
		}
		r = want
	}
	return r.Cur, nil
}
