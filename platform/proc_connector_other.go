//go:build !linux

package platform

import (
	"context"
	"fmt"
	"runtime"
)

// Watch would hand out changes from the kernel's process events; this OS has none that a
// Source uses, so it returns an error wrapping ErrNoConnector and Run polls.
func (s *Source) Watch(context.Context, func(Diff)) error {
	return fmt.Errorf("%w on %s", ErrNoConnector, runtime.GOOS)
}
