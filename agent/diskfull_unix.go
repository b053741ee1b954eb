//go:build !windows

package agent

import (
	"errors"
	"syscall"
)

// diskFull reports whether err is the disk, or the quota, running out of space.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
