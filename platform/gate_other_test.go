//go:build !linux

package platform

import (
	"errors"
	"strings"
	"testing"
)

func TestGateUnsupported(t *testing.T) {
	g, err := NewGate(GateOptions{Decide: func(GateRequest) bool { return true }})
	if g != nil || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("NewGate = %v, %v; want nil, an error wrapping errors.ErrUnsupported", g, err)
	}
	if want := "pre-exec gate is available on Linux only; denied launches are closed after start"; !strings.Contains(err.Error(), want) {
		t.Errorf("NewGate error = %q, want it to contain %q", err, want)
	}
}
