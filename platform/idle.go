package platform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrIdleUnknown means this desktop session cannot say how long it has had no input (no
// logind session and no X server on Linux; a session without a console). The notifier
// then reports nothing, and the agent takes the session as in use.
var ErrIdleUnknown = errors.New("this session's input idleness cannot be read")

// InputIdle is how long the calling user's desktop session has had no keyboard or mouse
// input: GetLastInputInfo on Windows, the HID system's idle time on macOS, logind's
// IdleHint and IdleSinceHint on Linux, or the X11 screensaver extension (through
// xprintidle) where logind has no session. Call it in the user's session: the notifier does.
func InputIdle(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return inputIdle(ctx, time.Now())
}

// idleFromLogind reads `loginctl show-session -p IdleHint -p IdleSinceHint` at now:
// not idle (IdleHint=no) is no idleness; idle is since IdleSinceHint (microseconds of
// the wall clock).
func idleFromLogind(out string, now time.Time) (time.Duration, error) {
	var hint string
	var since int64 = -1
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "IdleHint":
			hint = v
		case "IdleSinceHint":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("logind IdleSinceHint %q: %w", v, err)
			}
			since = n
		}
	}
	switch {
	case hint == "no":
		return 0, nil
	case hint == "yes" && since > 0:
		return max(0, now.Sub(time.UnixMicro(since))), nil
	}
	return 0, fmt.Errorf("logind answered %q: %w", strings.TrimSpace(out), ErrIdleUnknown)
}

// idleFromXprintidle reads xprintidle's answer: milliseconds since the last input.
func idleFromXprintidle(out string) (time.Duration, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("xprintidle answered %q: %w", strings.TrimSpace(out), ErrIdleUnknown)
	}
	return time.Duration(n) * time.Millisecond, nil
}

var hidIdleRE = regexp.MustCompile(`"HIDIdleTime"\s*=\s*(\d+)`)

// idleFromIoreg reads `ioreg -c IOHIDSystem -d 4 -r -k HIDIdleTime`: nanoseconds.
func idleFromIoreg(out string) (time.Duration, error) {
	m := hidIdleRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("ioreg gave no HIDIdleTime: %w", ErrIdleUnknown)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ioreg HIDIdleTime %q: %w", m[1], ErrIdleUnknown)
	}
	return time.Duration(n), nil
}
