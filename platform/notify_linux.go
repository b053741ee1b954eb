package platform

import "syscall"

func notifyCommand(n Notice) (string, []string) { return notifySendCommand(n) }

func notifyProcAttr() *syscall.SysProcAttr { return nil }
