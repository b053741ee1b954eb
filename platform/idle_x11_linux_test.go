//go:build linux

package platform

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestInputIdleX11 reads input idleness as the notifier does on a Linux desktop where
// logind has no session for the caller: through the X server's screensaver extension
// (xprintidle), on a real X server (Xvfb). With nobody at the desktop the idleness grows
// by the time that passes; input (a pointer move through XTEST, as xdotool makes it)
// brings it back to about zero.
func TestInputIdleX11(t *testing.T) {
	for _, bin := range []string{"Xvfb", "xprintidle", "xdotool"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install xvfb, xprintidle and xdotool (scripts/test does: apt-get install xvfb xprintidle xdotool)", bin)
		}
	}
	startXvfb(t)
	// A session logind does not have: logind cannot say, so the X server is asked.
	t.Setenv("XDG_SESSION_ID", "tollgate-no-such-session")
	ctx := context.Background()
	move := func(x string) {
		t.Helper()
		if out, err := exec.Command("xdotool", "mousemove", x, x).CombinedOutput(); err != nil {
			t.Fatalf("xdotool mousemove: %v: %s", err, out)
		}
	}
	move("10")
	first, err := InputIdle(ctx)
	if err != nil {
		t.Fatalf("InputIdle on an X desktop without a logind session: %v", err)
	}
	const wait = 1500 * time.Millisecond
	time.Sleep(wait)
	second, err := InputIdle(ctx)
	if err != nil {
		t.Fatalf("InputIdle: %v", err)
	}
	if got := second - first; got < wait-100*time.Millisecond || got > wait+5*time.Second {
		t.Errorf("got idleness %v then %v, %v apart; want it to grow by about the %v that passed with no input", first, second, got, wait)
	}
	move("200")
	third, err := InputIdle(ctx)
	if err != nil {
		t.Fatalf("InputIdle: %v", err)
	}
	if third >= second || third > time.Second {
		t.Errorf("got idleness %v after a pointer move (it was %v), want about zero: input ends idleness", third, second)
	}
	// Without an X display either, nothing can say: the notifier reports nothing and
	// the agent takes the session as in use.
	t.Setenv("DISPLAY", "")
	if d, err := InputIdle(ctx); err == nil {
		t.Errorf("got idleness %v with neither a logind session nor an X display, want ErrIdleUnknown", d)
	}
}

// startXvfb starts a private X server on a free display, sets DISPLAY to it for the test,
// and stops it when the test ends.
func startXvfb(t *testing.T) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -noreset: an X server resets when its last client leaves, its idle counter with it;
	// a desktop never does (its window manager stays connected), and each xprintidle here
	// is the only client while it runs.
	x := exec.Command("Xvfb", "-displayfd", "3", "-noreset", "-nolisten", "tcp", "-screen", "0", "640x480x24")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() { x.Process.Kill(); x.Wait() })
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatal("Xvfb gave no display number")
		}
		t.Setenv("DISPLAY", ":"+n)
	case <-time.After(10 * time.Second):
		t.Fatal("Xvfb gave no display number within 10s")
	}
}
