package agent

import (
	"errors"
	"syscall"
)

// Windows' own codes for a full disk; syscall.ENOSPC is an invented value there.
const (
	errorHandleDiskFull syscall.Errno = 39
	errorDiskFull       syscall.Errno = 112
)

// diskFull reports whether err is the disk running out of space.
func diskFull(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull)
}
