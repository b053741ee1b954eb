package platform

import (
	"context"
	"os/exec"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestAppQuitCommand checks the command a root agent runs to ask a Mac app to quit: in the
// GUI session of the app's user, as that user, and with the identifier kept inside its
// AppleScript string.
func TestAppQuitCommand(t *testing.T) {
	tests := []struct {
		uid      int
		bundleID string
		want     []string
	}{
		{501, "com.autodesk.AutoCAD", []string{"/bin/launchctl", "asuser", "501", "/usr/bin/sudo", "-n", "-u", "#501", "/usr/bin/osascript", "-e",
			`if application id "com.autodesk.AutoCAD" is running then tell application id "com.autodesk.AutoCAD" to quit`}},
		{502, `com.x" to do shell script "rm -rf ~`, []string{"/bin/launchctl", "asuser", "502", "/usr/bin/sudo", "-n", "-u", "#502", "/usr/bin/osascript", "-e",
			`if application id "com.x\" to do shell script \"rm -rf ~" is running then tell application id "com.x\" to do shell script \"rm -rf ~" to quit`}},
	}
	for _, tt := range tests {
		name, args := appQuitCommand(tt.uid, tt.bundleID)
		if got := append([]string{name}, args...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("uid %d, %q:\n got %q\nwant %q", tt.uid, tt.bundleID, got, tt.want)
		}
	}
}

// TestTerminatePolitely runs the polite close on real processes, with SIGHUP (sent by kill, a
// real command, as osascript is on a Mac) standing in for the quit Apple event.
func TestTerminatePolitely(t *testing.T) {
	bins := procBuildHelper(t, "AutoCAD")
	kill, err := exec.LookPath("kill")
	if err != nil {
		t.Fatal(err)
	}
	askHUP := func(pid int32) termAsker {
		return func(context.Context) (<-chan error, func(), error) {
			return termRunAsker(exec.Command(kill, "-HUP", strconv.Itoa(int(pid))))
		}
	}
	refuse := func(int32) termAsker {
		return func(context.Context) (<-chan error, func(), error) {
			// What osascript says without the Automation permission.
			return termRunAsker(exec.Command("sh", "-c", `echo "execution error: Not authorized to send Apple events to AutoCAD. (-1743)" >&2; exit 1`))
		}
	}
	tests := []struct {
		name    string
		mode    string // the helper's
		ask     func(int32) termAsker
		grace   time.Duration
		want    Ending
		wantEnd string
	}{
		// A generous grace: the wait ends as the process does.
		{"quits when asked", "wait", askHUP, time.Minute, TermClosed, "signal: hangup"},
		{"ignores the request, closes on SIGTERM", "ignore-hup", askHUP, 100 * time.Millisecond, TermClosed, "signal: terminated"},
		{"ignores both", "ignore-both", askHUP, 100 * time.Millisecond, TermKilled, "signal: killed"},
		// Refused at once: SIGTERM goes without waiting out the grace.
		{"request refused", "ignore-hup", refuse, time.Minute, TermClosed, "signal: terminated"},
		{"nothing to ask with", "wait", nil, time.Minute, TermClosed, "signal: terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := procStart(t, bins["AutoCAD"], tt.mode)
			created, err := procCreatedByPid(ctx, c.pid())
			if err != nil {
				t.Fatal(err)
			}
			var ask termAsker
			if tt.ask != nil {
				ask = tt.ask(c.pid())
			}
			start := time.Now()
			got, err := termPolitely(ctx, ProcKey{PID: c.pid(), Created: created}, tt.grace, ask)
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
			if took := time.Since(start); tt.grace == time.Minute && took >= tt.grace {
				t.Errorf("took %v: the grace was waited out", took)
			}
			if end := c.wait(t).String(); end != tt.wantEnd {
				t.Errorf("child ended with %q, want %q", end, tt.wantEnd)
			}
		})
	}
}
