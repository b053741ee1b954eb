//go:build !windows

package ctl

import (
	"context"
	"errors"
	"os"
	"strings"

	"go.uber.org/zap"

	"tollgate/agent/localapi"
	"tollgate/config"
)

// The launch gate is Windows's (Image File Execution Options); on Linux the pre-exec gate is
// fanotify, in the agent. These let `tollgate gate` refuse clearly elsewhere.

func gateCommandLine() string { return strings.Join(os.Args, " ") }

func defaultConfigFile() string { return "" }

func systemGate() gateOS {
	refuse := errors.New("tollgate gate is Windows's launch gate; on Linux the agent's --gate does this")
	return gateOS{
		check: func(context.Context, string, string) (localapi.CheckResult, error) {
			return localapi.CheckResult{}, refuse
		},
		start:  func(string) (func() (int, error), error) { return nil, refuse },
		notify: func(string, string) {},
	}
}

// LaunchGateSync does nothing: the launch gate is Windows's.
func LaunchGateSync(*config.Config, *zap.Logger) {}
