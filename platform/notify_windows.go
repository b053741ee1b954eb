package platform

import (
	"syscall"

	"golang.org/x/sys/windows"
)

func notifyCommand(n Notice) (string, []string) { return powershellToastCommand(n) }

// notifyProcAttr keeps powershell.exe from flashing a console window on the user's desktop.
func notifyProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{HideWindow: true, CreationFlags: windows.CREATE_NO_WINDOW}
}
