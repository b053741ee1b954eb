//go:build !linux

package platform

import (
	"context"
	"errors"
	"fmt"
)

// Gate is the pre-exec gate; it exists only on Linux.
type Gate struct{}

// NewGate reports that no pre-exec gate exists here: Windows and macOS offer an ordinary service
// no hook that holds an exec (macOS needs an Endpoint Security entitlement, Windows a kernel
// driver), so the caller closes denied launches after start.
func NewGate(GateOptions) (*Gate, error) {
	return nil, errGateUnsupported()
}

// Run returns the same error as NewGate.
func (*Gate) Run(context.Context) error { return errGateUnsupported() }

// SetPaths returns the same error as NewGate.
func (*Gate) SetPaths([]string) error { return errGateUnsupported() }

func errGateUnsupported() error {
	return fmt.Errorf("pre-exec gate is available on Linux only; denied launches are closed after start: %w", errors.ErrUnsupported)
}
