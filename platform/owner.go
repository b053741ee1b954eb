package platform

import "errors"

// ErrNoOwner means the account running a process could not be told: the process is gone, or
// the OS does not show its owner to this process.
var ErrNoOwner = errors.New("no owner for the process")
