package platform

import "syscall"

func notifyCommand(n Notice) (string, []string) { return osascriptCommand(n) }

func notifyProcAttr() *syscall.SysProcAttr { return nil }
