package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
)

const termWMClose = 0x0010

// terminate holds the process by a handle, under which Windows does not reuse its pid: one
// check of the create time covers both steps. Windows has no signal asking a program to close;
// WM_CLOSE to its top-level windows is what closing them by hand sends, and what taskkill
// without /F sends. Windows are found only on the caller's desktop: a service in session 0
// finds none of a user's, and its termination comes down to the kill after grace.
func terminate(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE|windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION,
		false, uint32(key.PID))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return 0, ErrNoProcess
	}
	if err != nil {
		return 0, fmt.Errorf("OpenProcess: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := procHandleIs(h, key); errors.Is(err, errProcGone) {
		return 0, ErrNoProcess
	} else if err != nil {
		return 0, err
	}
	if err := termCloseWindows(uint32(key.PID)); err != nil {
		return 0, err
	}
	gone := func(wait time.Duration) (bool, error) {
		ev, err := windows.WaitForSingleObject(h, uint32(wait.Milliseconds()))
		if err != nil {
			return false, fmt.Errorf("WaitForSingleObject: %w", err)
		}
		return ev == windows.WAIT_OBJECT_0, nil
	}
	if ok, err := termWait(ctx, grace, gone); err != nil {
		return 0, err
	} else if ok {
		return TermClosed, nil
	}
	if err := windows.TerminateProcess(h, 1); err != nil {
		if ok, _ := gone(0); ok {
			return TermClosed, nil
		}
		return 0, fmt.Errorf("TerminateProcess: %w", err)
	}
	if ok, err := termWait(ctx, termKillWait, gone); err != nil {
		return 0, err
	} else if !ok {
		return 0, fmt.Errorf("still running %v after TerminateProcess", termKillWait)
	}
	return TermKilled, nil
}

// termCloseWindows posts WM_CLOSE to the visible top-level windows of process pid. It walks
// them with FindWindowEx rather than EnumWindows, whose callback would need a slot that
// Windows never frees.
func termCloseWindows(pid uint32) error {
	user32 := windows.NewLazySystemDLL("user32.dll")
	findWindowEx := user32.NewProc("FindWindowExW")
	postMessage := user32.NewProc("PostMessageW")
	if err := errors.Join(findWindowEx.Find(), postMessage.Find()); err != nil {
		return err
	}
	var hwnd uintptr
	for {
		hwnd, _, _ = findWindowEx.Call(0, hwnd, 0, 0)
		if hwnd == 0 {
			return nil
		}
		var owner uint32
		w := windows.HWND(hwnd)
		if _, err := windows.GetWindowThreadProcessId(w, &owner); err != nil || owner != pid || !windows.IsWindowVisible(w) {
			continue
		}
		postMessage.Call(hwnd, termWMClose, 0, 0)
	}
}
