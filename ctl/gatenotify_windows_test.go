package ctl

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// TestGateDenialShownWindows: the gate's denial is a message box on the user's desktop with the
// product in its title and the reason in its text, and the gate goes on (and exits) once the
// user dismisses it. Under Wine the desktop is Xvfb's.
func TestGateDenialShownWindows(t *testing.T) {
	const title = "Autodesk Revit was not started"
	const body = "Your team has 3 tokens; a day costs 10.\nContact it@studio.example."
	shown := make(chan struct{})
	go func() { defer close(shown); systemGate().notify(title, body) }()

	user32 := windows.NewLazySystemDLL("user32.dll")
	findWindowEx, getWindowText, postMessage := user32.NewProc("FindWindowExW"), user32.NewProc("GetWindowTextW"), user32.NewProc("PostMessageW")
	title16, _ := windows.UTF16PtrFromString(title)
	text := func(hwnd uintptr) string {
		buf := make([]uint16, 512)
		n, _, _ := getWindowText.Call(hwnd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		return windows.UTF16ToString(buf[:n])
	}
	// Found by its title once it shows (a dialog is made hidden, then shown).
	var box uintptr
	for end := time.Now().Add(60 * time.Second); (box == 0 || !windows.IsWindowVisible(windows.HWND(box))) && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		select {
		case <-shown:
			t.Fatalf("the message box returned before anyone dismissed it; under Wine, is DISPLAY an X server?")
		default:
		}
		box, _, _ = findWindowEx.Call(0, 0, 0, uintptr(unsafe.Pointer(title16)))
	}
	if box == 0 || !windows.IsWindowVisible(windows.HWND(box)) {
		t.Fatalf("no visible window titled %q within 60s (found: %v)", title, box != 0)
	}
	// The reason is one of the box's children (a static text).
	var texts []string
	for child := uintptr(0); ; {
		child, _, _ = findWindowEx.Call(box, child, 0, 0)
		if child == 0 {
			break
		}
		texts = append(texts, text(child))
	}
	found := false
	for _, s := range texts {
		found = found || strings.ReplaceAll(s, "\r\n", "\n") == body
	}
	if !found {
		t.Errorf("the message box's texts are %q, want one to be %q", texts, body)
	}
	const wmClose = 0x0010
	postMessage.Call(box, wmClose, 0, 0)
	select {
	case <-shown:
	case <-time.After(30 * time.Second):
		t.Fatalf("the gate still waits 30s after its message box was closed")
	}
}
