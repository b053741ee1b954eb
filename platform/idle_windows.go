package platform

import (
	"context"
	"errors"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// inputIdle is GetTickCount less GetLastInputInfo's tick of the last input in the
// caller's session: both wrap every 49.7 days, and the unsigned difference does not mind.
func inputIdle(context.Context, time.Time) (time.Duration, error) {
	user32 := windows.NewLazySystemDLL("user32.dll")
	kernel32 := windows.NewLazySystemDLL("kernel32.dll")
	getLastInputInfo := user32.NewProc("GetLastInputInfo")
	getTickCount := kernel32.NewProc("GetTickCount")
	if err := errors.Join(getLastInputInfo.Find(), getTickCount.Find()); err != nil {
		return 0, errors.Join(ErrIdleUnknown, err)
	}
	info := struct {
		size uint32
		time uint32
	}{size: 8}
	if ok, _, err := getLastInputInfo.Call(uintptr(unsafe.Pointer(&info))); ok == 0 {
		return 0, errors.Join(ErrIdleUnknown, err)
	}
	now, _, _ := getTickCount.Call()
	return time.Duration(uint32(now)-info.time) * time.Millisecond, nil
}
