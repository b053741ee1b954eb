package platform

import (
	"context"
	"errors"
	"os/exec"
	"time"
)

// inputIdle reads the HID system's idle time with ioreg, which needs no cgo.
func inputIdle(ctx context.Context, _ time.Time) (time.Duration, error) {
	out, err := exec.CommandContext(ctx, "ioreg", "-c", "IOHIDSystem", "-d", "4", "-r", "-k", "HIDIdleTime").Output()
	if err != nil {
		return 0, errors.Join(ErrIdleUnknown, err)
	}
	return idleFromIoreg(string(out))
}
