package ctl

import (
	"context"

	"golang.org/x/sys/windows"

	"go.uber.org/zap"

	"tollgate/agent/localapi"
	"tollgate/config"
	"tollgate/platform"
)

func gateCommandLine() string { return windows.UTF16PtrToString(windows.GetCommandLine()) }

func defaultConfigFile() string { return platform.DefaultPaths().ConfigFile }

// systemGate asks the agent over its pipe, starts the product past the Image File Execution
// Options entry, and shows a denial in a message box on the user's desktop.
func systemGate() gateOS {
	return gateOS{
		check: func(ctx context.Context, socket, product string) (localapi.CheckResult, error) {
			if socket == "" {
				socket = platform.DefaultPaths().Socket
			}
			return localapi.NewClientWith(socket, localapi.ClientOptions{Timeout: gateBudget}).Check(ctx, product, "")
		},
		start: func(cmdline string) (func() (int, error), error) {
			h, err := platform.StartPastGate(cmdline)
			if err != nil {
				return nil, err
			}
			return func() (int, error) {
				defer windows.CloseHandle(h)
				if _, err := windows.WaitForSingleObject(h, windows.INFINITE); err != nil {
					return 1, err
				}
				var code uint32
				if err := windows.GetExitCodeProcess(h, &code); err != nil {
					return 1, err
				}
				return int(code), nil
			}, nil
		},
		notify: func(title, body string) {
			t, _ := windows.UTF16PtrFromString(title)
			b, _ := windows.UTF16PtrFromString(body)
			windows.MessageBox(0, b, t, windows.MB_OK|windows.MB_ICONWARNING|windows.MB_SETFOREGROUND)
		},
	}
}

// LaunchGateSync keeps the launch gate's Image File Execution Options entries in step with
// each catalogue the agent takes, while the gate is on (install --launch-gate).
func LaunchGateSync(cfg *config.Config, log *zap.Logger) {
	cmd, err := platform.LaunchGateCommand()
	if err != nil {
		log.Warn("the launch gate's entries were not updated", zap.Error(err))
		return
	}
	if cmd == "" {
		return
	}
	ch, err := platform.SyncLaunchGate(cmd, catalogueExes(cfg))
	if err != nil {
		log.Warn("the launch gate's entries were not updated", zap.Error(err))
		return
	}
	if len(ch.Set)+len(ch.Removed) > 0 {
		log.Info("launch gate entries updated", zap.Strings("set", ch.Set), zap.Strings("removed", ch.Removed))
	}
	if len(ch.Foreign) > 0 {
		log.Warn("these products have another program as their Debugger, so the launch gate leaves them to the process watch", zap.Strings("exe", ch.Foreign))
	}
}
