package platform

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// TestTerminateWindowsGUI closes a real GUI program (testdata/guiproduct, a -H windowsgui
// build with one top-level window and a message loop) the way the agent closes a denied
// product: one that honours WM_CLOSE exits by itself before the grace ends, one that ignores
// it is killed after the grace. scripts/test-windows builds guiproduct.exe next to the test
// binary and runs this under Xvfb, since Wine draws windows on an X display.
func TestTerminateWindowsGUI(t *testing.T) {
	tests := []struct {
		mode       string
		grace      time.Duration
		wantEnd    Ending
		wantMarker string
		wantStatus int // TerminateProcess's exit code is 1
	}{
		{"close", 15 * time.Second, TermClosed, "WM_CLOSE", 0},
		{"ignore", 3 * time.Second, TermKilled, "WM_CLOSE ignored", 1},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			g := startGUIProduct(t, tt.mode)
			p, marker, exited := g.proc, g.marker, g.exited

			start := time.Now()
			end, err := Terminate(context.Background(), p.Key, tt.grace)
			took := time.Since(start)
			t.Logf("Terminate returned %v after %v (grace %v)", end, took.Round(time.Millisecond), tt.grace)
			if err != nil || end != tt.wantEnd {
				t.Fatalf("Terminate: got %v, %v, want %v", end, err, tt.wantEnd)
			}
			got, err := os.ReadFile(marker)
			if err != nil || string(got) != tt.wantMarker {
				t.Errorf("got marker %q (%v), want %q: the window's WM_CLOSE handler never ran", got, err, tt.wantMarker)
			}
			var status int
			select {
			case <-exited:
				var ee *exec.ExitError
				if errors.As(g.waitErr, &ee) {
					status = ee.ExitCode()
				} else if g.waitErr != nil {
					t.Fatalf("waiting for guiproduct: %v", g.waitErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("guiproduct still running 10s after Terminate returned %v", end)
			}
			if status != tt.wantStatus {
				t.Errorf("got exit status %d, want %d", status, tt.wantStatus)
			}
			if tt.wantEnd == TermKilled && took < tt.grace {
				t.Errorf("killed after %v, want not before the grace of %v", took, tt.grace)
			}
		})
	}
}

// guiProduct is testdata/guiproduct running under Wine with its window shown.
type guiProduct struct {
	proc    Process
	marker  string        // where its WM_CLOSE handler writes what it did
	exited  chan struct{} // closed when it has exited
	waitErr error         // its exit, once exited is closed
}

// startGUIProduct starts guiproduct.exe (built next to the test binary by
// scripts/test-windows) in mode (close: honour WM_CLOSE; ignore: keep the window), waits
// for its window, and kills it at the test's end.
func startGUIProduct(t *testing.T, mode string) *guiProduct {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	product := filepath.Join(filepath.Dir(self), "guiproduct.exe")
	if _, err := os.Stat(product); err != nil {
		t.Fatalf("%v: scripts/test-windows builds it from platform/testdata/guiproduct next to the test binary", err)
	}
	src := NewSource(SourceOptions{})
	if _, err := src.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := wineTempDir(t)
	g := &guiProduct{marker: filepath.Join(dir, "marker"), exited: make(chan struct{})}
	cmd := exec.Command(product, mode, g.marker)
	// A file, not a pipe: under Wine a process that starts with the first window (the
	// desktop's explorer.exe) may inherit a pipe's end and keep cmd.Wait waiting.
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderr.Close() })
	cmd.Stderr = stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.waitErr = cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-g.exited
	})
	g.proc = findStarted(t, src, cmd.Process.Pid)
	waitWindow(t, uint32(cmd.Process.Pid), g.exited, &g.waitErr, stderr.Name())
	t.Logf("window shown %v after the start", time.Since(started).Round(time.Millisecond))
	return g
}

// waitWindow waits until process pid shows a visible top-level window, found as terminate
// finds windows.
func waitWindow(t *testing.T, pid uint32, exited <-chan struct{}, waitErr *error, stderr string) {
	t.Helper()
	findWindowEx := windows.NewLazySystemDLL("user32.dll").NewProc("FindWindowExW")
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			out, _ := os.ReadFile(stderr)
			t.Fatalf("guiproduct exited before showing a window (%v: %q); under Wine, is DISPLAY an X server?", *waitErr, bytes.TrimSpace(out))
		default:
		}
		var hwnd uintptr
		for {
			hwnd, _, _ = findWindowEx.Call(0, hwnd, 0, 0)
			if hwnd == 0 {
				break
			}
			var owner uint32
			w := windows.HWND(hwnd)
			if _, err := windows.GetWindowThreadProcessId(w, &owner); err == nil && owner == pid && windows.IsWindowVisible(w) {
				return
			}
		}
	}
	t.Fatalf("guiproduct (pid %d) showed no visible top-level window within 60s", pid)
}
