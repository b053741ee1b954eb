package platform

import (
	"os"
	"syscall"
)

func notifyCommand(n Notice) (string, []string) { return osascriptCommand(n) }

func notifyProcAttr() *syscall.SysProcAttr { return nil }

// CheckNotices reads the notification settings of the user running this process (the
// notifier, or `tollgate status` at the desktop).
func CheckNotices() NoticeHealth {
	home, err := os.UserHomeDir()
	if err != nil {
		return NoticeHealth{OK: true}
	}
	return noticeHealthMac(home)
}
