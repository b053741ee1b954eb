//go:build windows

// Command guiproduct stands in for a GUI product in TestTerminateWindowsGUI: a Windows GUI
// program (built with -H windowsgui) with one visible top-level window and a message loop.
//
//	guiproduct close MARKER   on WM_CLOSE writes "WM_CLOSE" to MARKER, destroys its window
//	                          and exits with status 0, as a product closed by hand does
//	guiproduct ignore MARKER  on WM_CLOSE writes "WM_CLOSE ignored" to MARKER and keeps running,
//	                          as a product stuck in a modal dialog does
//
// The window's title is "guiproduct <pid>".
package main

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	wmDestroy          = 0x0002
	wmClose            = 0x0010
	wsOverlappedWindow = 0x00CF0000
	swShow             = 5
	cwUseDefault       = 0x80000000
)

type wndClassEx struct {
	size       uint32
	style      uint32
	wndProc    uintptr
	clsExtra   int32
	wndExtra   int32
	instance   windows.Handle
	icon       windows.Handle
	cursor     windows.Handle
	background windows.Handle
	menuName   *uint16
	className  *uint16
	iconSm     windows.Handle
}

type msg struct {
	hwnd    windows.HWND
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
	private uint32
}

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "close" && os.Args[1] != "ignore") {
		fail(fmt.Errorf("usage: guiproduct close|ignore MARKER"))
	}
	ignore, marker := os.Args[1] == "ignore", os.Args[2]
	// A window belongs to the thread that made it, and only that thread's loop gets its
	// messages.
	runtime.LockOSThread()

	user32 := windows.NewLazySystemDLL("user32.dll")
	registerClassEx := user32.NewProc("RegisterClassExW")
	createWindowEx := user32.NewProc("CreateWindowExW")
	showWindow := user32.NewProc("ShowWindow")
	defWindowProc := user32.NewProc("DefWindowProcW")
	destroyWindow := user32.NewProc("DestroyWindow")
	postQuitMessage := user32.NewProc("PostQuitMessage")
	getMessage := user32.NewProc("GetMessageW")
	translateMessage := user32.NewProc("TranslateMessage")
	dispatchMessage := user32.NewProc("DispatchMessageW")

	wndProc := func(hwnd windows.HWND, m uint32, w, l uintptr) uintptr {
		switch m {
		case wmClose:
			note := "WM_CLOSE"
			if ignore {
				note = "WM_CLOSE ignored"
			}
			if err := os.WriteFile(marker, []byte(note), 0o644); err != nil {
				fail(err)
			}
			if !ignore {
				destroyWindow.Call(uintptr(hwnd))
			}
			return 0
		case wmDestroy:
			postQuitMessage.Call(0)
			return 0
		}
		r, _, _ := defWindowProc.Call(uintptr(hwnd), uintptr(m), w, l)
		return r
	}

	var instance windows.Handle
	if err := windows.GetModuleHandleEx(0, nil, &instance); err != nil {
		fail(fmt.Errorf("GetModuleHandleEx: %w", err))
	}
	class := windows.StringToUTF16Ptr("tollgateGUIProduct")
	wc := wndClassEx{
		wndProc:   windows.NewCallback(wndProc),
		instance:  instance,
		className: class,
	}
	wc.size = uint32(unsafe.Sizeof(wc))
	if r, _, err := registerClassEx.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
		fail(fmt.Errorf("RegisterClassExW: %w", err))
	}
	title := windows.StringToUTF16Ptr(fmt.Sprintf("guiproduct %d", os.Getpid()))
	hwnd, _, err := createWindowEx.Call(0, uintptr(unsafe.Pointer(class)), uintptr(unsafe.Pointer(title)),
		wsOverlappedWindow, cwUseDefault, cwUseDefault, 320, 200, 0, 0, uintptr(instance), 0)
	if hwnd == 0 {
		fail(fmt.Errorf("CreateWindowExW: %w", err))
	}
	showWindow.Call(hwnd, swShow)

	var m msg
	for {
		r, _, err := getMessage.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		switch int32(r) {
		case 0: // WM_QUIT
			os.Exit(0)
		case -1:
			fail(fmt.Errorf("GetMessageW: %w", err))
		}
		translateMessage.Call(uintptr(unsafe.Pointer(&m)))
		dispatchMessage.Call(uintptr(unsafe.Pointer(&m)))
	}
}

// fail exits with status 3: a GUI program has no console to print to, so the test reads the
// status.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "guiproduct:", err)
	os.Exit(3)
}
