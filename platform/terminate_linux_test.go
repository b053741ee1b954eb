package platform

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTerminate(t *testing.T) {
	bins := procBuildHelper(t, "revit")
	ways := []struct {
		name      string
		terminate func(context.Context, ProcKey, time.Duration) (Ending, error)
	}{
		{"pidfd", Terminate},
		{"signals", termBySignal}, // kernels without pidfds, and macOS
	}
	tests := []struct {
		name     string
		mode     string // the helper's
		grace    time.Duration
		wrongKey bool
		ended    bool // before Terminate
		want     Ending
		wantErr  error
		wantEnd  string // how the child ended, as os.ProcessState says; "" when it is left running
	}{
		// A generous grace: the helper exits as SIGTERM arrives, and the wait ends then.
		{name: "closes when asked", mode: "handle-term", grace: time.Minute, want: TermClosed, wantEnd: "exit status 0"},
		{name: "dies when asked", mode: "wait", grace: time.Minute, want: TermClosed, wantEnd: "signal: terminated"},
		{name: "ignores SIGTERM", mode: "ignore-term", grace: 50 * time.Millisecond, want: TermKilled, wantEnd: "signal: killed"},
		{name: "another create time", mode: "wait", grace: time.Minute, wrongKey: true, wantErr: ErrNoProcess},
		{name: "exited already", mode: "wait", grace: time.Minute, ended: true, wantErr: ErrNoProcess},
	}
	for _, w := range ways {
		for _, tt := range tests {
			t.Run(w.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				c := procStart(t, bins["revit"], tt.mode)
				created, err := procCreatedByPid(ctx, c.pid())
				if err != nil {
					t.Fatal(err)
				}
				key := ProcKey{PID: c.pid(), Created: created}
				if tt.wrongKey {
					key.Created -= 10
				}
				if tt.ended {
					c.end(t)
				}

				got, err := w.terminate(ctx, key, tt.grace)
				if got != tt.want || !errors.Is(err, tt.wantErr) {
					t.Errorf("got %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
				}
				if tt.ended {
					return
				}
				if tt.wantEnd == "" {
					if _, err := procCreatedByPid(ctx, c.pid()); err != nil {
						t.Errorf("got the child gone (%v), want it left running", err)
					}
					return
				}
				if got := c.wait(t).String(); got != tt.wantEnd {
					t.Errorf("got the child ended with %q, want %q", got, tt.wantEnd)
				}
			})
		}
	}
}

func TestTerminateStopsWithContext(t *testing.T) {
	bins := procBuildHelper(t, "revit")
	c := procStart(t, bins["revit"], "ignore-term")
	ctx := context.Background()
	created, err := procCreatedByPid(ctx, c.pid())
	if err != nil {
		t.Fatal(err)
	}
	// The context ends during the grace period, after SIGTERM, which the child ignores.
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if got, err := Terminate(ctx, ProcKey{PID: c.pid(), Created: created}, time.Hour); got != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, %v; want %v", got, err, context.DeadlineExceeded)
	}
	if _, err := procCreatedByPid(context.Background(), c.pid()); err != nil {
		t.Errorf("got the child gone (%v), want it left running", err)
	}
}

func TestTerminateRefusesNonPositivePids(t *testing.T) {
	for _, pid := range []int32{0, -1} {
		if _, err := Terminate(context.Background(), ProcKey{PID: pid}, time.Millisecond); !errors.Is(err, ErrNoProcess) {
			t.Errorf("pid %d: got %v, want %v", pid, err, ErrNoProcess)
		}
	}
}

func TestEndingString(t *testing.T) {
	for _, tt := range []struct {
		e    Ending
		want string
	}{{TermClosed, "closed"}, {TermKilled, "killed"}, {0, "Ending(0)"}} {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
