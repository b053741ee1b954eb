package platform

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// askToClose posts WM_CLOSE to the process's visible top-level windows, as closing them by
// hand does. Only windows on the caller's desktop are found: run from a service in session
// 0 it finds none of a user's, and the product stays open and is renewed.
func askToClose(_ context.Context, key ProcKey) error {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(key.PID))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return ErrNoProcess
	}
	if err != nil {
		return fmt.Errorf("OpenProcess: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := procHandleIs(h, key); errors.Is(err, errProcGone) {
		return ErrNoProcess
	} else if err != nil {
		return err
	}
	return termCloseWindows(uint32(key.PID))
}
