package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// Notice is a message for the user at the desktop: why a launch was refused, a balance running low.
type Notice struct {
	Title string
	Body  string
	// Urgent notices stay on screen (or sound) where the desktop allows it.
	Urgent bool
}

// Notifier shows notices to the user.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// DesktopNotifier shows notices with the desktop's own notification tool: notify-send on Linux,
// osascript on macOS, a PowerShell toast on Windows. It must run in the user's session (the
// per-user notifier does), since those tools talk to that session's notification service.
// The zero value is ready to use.
type DesktopNotifier struct {
	// command builds the program and arguments for a notice; nil means notifyCommand.
	command func(Notice) (name string, args []string)
}

// NewDesktopNotifier returns a notifier for this OS's desktop.
func NewDesktopNotifier() *DesktopNotifier {
	return &DesktopNotifier{}
}

// Notify shows n and returns once the OS tool has handed it to the desktop.
func (d *DesktopNotifier) Notify(ctx context.Context, n Notice) error {
	build := d.command
	if build == nil {
		build = notifyCommand
	}
	name, args := build(n)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = notifyProcAttr()
	out, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("showing notice: %s is not installed or not on PATH: %w", name, err)
	}
	if err != nil {
		return fmt.Errorf("showing notice with %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}
