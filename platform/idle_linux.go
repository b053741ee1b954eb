package platform

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// inputIdle asks logind about the caller's session (XDG_SESSION_ID, or logind's "auto":
// the caller's own), and, when logind has none or cannot say, the X server through
// xprintidle.
func inputIdle(ctx context.Context, now time.Time) (time.Duration, error) {
	session := os.Getenv("XDG_SESSION_ID")
	if session == "" {
		session = "auto"
	}
	out, err := exec.CommandContext(ctx, "loginctl", "show-session", session, "-p", "IdleHint", "-p", "IdleSinceHint").Output()
	var lerr error
	if err == nil {
		d, err := idleFromLogind(string(out), now)
		if err == nil {
			return d, nil
		}
		lerr = err
	} else {
		lerr = errors.Join(ErrIdleUnknown, err)
	}
	if os.Getenv("DISPLAY") == "" {
		return 0, lerr
	}
	out, err = exec.CommandContext(ctx, "xprintidle").Output()
	if err != nil {
		return 0, errors.Join(lerr, err)
	}
	return idleFromXprintidle(string(out))
}
