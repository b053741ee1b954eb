package platform

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestInputIdleWindows reads the session's input idleness as the notifier does, through
// GetLastInputInfo: with nobody at the (Xvfb) desktop it answers, and it grows by the time
// that passes with no input.
func TestInputIdleWindows(t *testing.T) {
	ctx := context.Background()
	first, err := InputIdle(ctx)
	if err != nil {
		t.Fatalf("InputIdle: %v", err)
	}
	const wait = 1500 * time.Millisecond
	time.Sleep(wait)
	second, err := InputIdle(ctx)
	if err != nil {
		t.Fatalf("InputIdle: %v", err)
	}
	// GetTickCount moves in steps of 10 to 16 ms.
	if got := second - first; got < wait-100*time.Millisecond || got > wait+5*time.Second {
		t.Errorf("got idleness %v then %v, %v apart; want it to grow by about the %v that passed with no input", first, second, got, wait)
	}
}

// TestAskToCloseWindowsGUI asks a real GUI program to close for idleness, as the notifier
// does from the user's desktop: one that honours WM_CLOSE exits by itself; one that keeps
// its window (a "save changes?" prompt) is left running, never killed.
func TestAskToCloseWindowsGUI(t *testing.T) {
	tests := []struct {
		mode     string
		wantExit bool
	}{
		{"close", true},
		{"ignore", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			g := startGUIProduct(t, tt.mode)
			if err := AskToClose(context.Background(), g.proc.Key); err != nil {
				t.Fatalf("AskToClose: %v", err)
			}
			select {
			case <-g.exited:
				if !tt.wantExit {
					t.Fatalf("got the program ended (%v) after it ignored WM_CLOSE, want it left running: an idle close never kills", g.waitErr)
				}
			case <-time.After(15 * time.Second):
				if tt.wantExit {
					t.Fatal("got the program still running 15s after it was asked to close, want it closed by its own WM_CLOSE handler")
				}
			}
			if got, err := os.ReadFile(g.marker); err != nil || len(got) == 0 {
				t.Errorf("got marker %q (%v), want the window's WM_CLOSE handler to have run", got, err)
			}
		})
	}
}
