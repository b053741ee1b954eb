package platform

import (
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"

	"tollgate/platform/macapp"
)

// terminate asks an app in a user's session to quit with a quit Apple event, as the Dock's
// Quit does (a Cocoa app takes SIGTERM as a crash, without a save prompt), then falls back to
// signals. It signals by pid: macOS has no pidfd, so each signal follows a fresh look at the
// create time.
func terminate(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	return termPolitely(ctx, key, grace, termAppleQuit(ctx, key))
}

// termAppleQuit returns how to ask key to quit, or nil when it cannot be asked: it is no app
// (no bundle around its executable), it is root's (no user session to send from), or this
// agent is not root (which launchctl asuser needs).
func termAppleQuit(ctx context.Context, key ProcKey) termAsker {
	if os.Geteuid() != 0 {
		return nil
	}
	k, err := unix.SysctlKinfoProc("kern.proc.pid", int(key.PID))
	if err != nil || k.Proc.P_pid != key.PID || procKinfoCreated(k) != key.Created {
		return nil
	}
	uid := int(k.Eproc.Pcred.P_ruid)
	if uid == 0 {
		return nil
	}
	exe, err := (&process.Process{Pid: key.PID}).ExeWithContext(ctx)
	if err != nil {
		return nil
	}
	id := macapp.BundleID(exe)
	if id == "" {
		return nil
	}
	return func(ctx context.Context) (<-chan error, func(), error) {
		name, args := appQuitCommand(uid, id)
		return termRunAsker(exec.Command(name, args...))
	}
}
