package installer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// never is the "never arrived" bound of these tests; nothing is timed against it.
const never = 20 * time.Second

func TestProgramStartReturnsAtOnceAndStopWaits(t *testing.T) {
	running, stopped := make(chan struct{}), make(chan struct{})
	p := newProgram(RunOptions{StopTimeout: never, Run: func(ctx context.Context) error {
		close(running)
		<-ctx.Done()
		close(stopped)
		return nil
	}})
	p.Start(t.Context()) // returns while Run blocks: if it did not, the test would hang here
	select {
	case <-running:
	case <-time.After(never):
		t.Fatal("Run never started")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop: got %v, want nil", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("Stop returned before Run did")
	}
}

func TestSupervise(t *testing.T) {
	fatal := errors.New("journal: disk full")
	block := make(chan struct{})
	t.Cleanup(func() { close(block) }) // lets the stubborn agent's goroutine end
	tests := []struct {
		name    string
		run     func(context.Context) error
		signal  bool // end supervise's context, as SIGTERM does
		wantErr string
	}{
		{
			name:   "stopped by the service manager",
			run:    func(ctx context.Context) error { <-ctx.Done(); return nil },
			signal: true,
		},
		{
			name:    "a fatal error exits non-zero",
			run:     func(context.Context) error { return fatal },
			wantErr: "journal: disk full",
		},
		{
			name:    "an agent that ends by itself is a failure",
			run:     func(context.Context) error { return nil },
			wantErr: errUnexpectedExit.Error(),
		},
		{
			name:    "an error while stopping is reported",
			run:     func(ctx context.Context) error { <-ctx.Done(); return fatal },
			signal:  true,
			wantErr: "journal: disk full",
		},
		{
			name:    "an agent that will not stop is given up on",
			run:     func(context.Context) error { <-block; return nil },
			signal:  true,
			wantErr: "did not stop within 50ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.signal {
				cancel()
			}
			p := newProgram(RunOptions{Run: tt.run, StopTimeout: 50 * time.Millisecond})
			if !tt.signal {
				p.timeout = never
			}
			err := supervise(ctx, p)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunServiceNeedsRun(t *testing.T) {
	if err := RunService(t.Context(), RunOptions{}); err == nil {
		t.Error("got nil, want an error for nothing to run")
	}
}

type recordedEvent struct {
	kind string
	id   uint32
	msg  string
}

type eventRecorder struct{ got []recordedEvent }

func (r *eventRecorder) Warning(id uint32, msg string) error {
	r.got = append(r.got, recordedEvent{"warning", id, msg})
	return nil
}

func (r *eventRecorder) Error(id uint32, msg string) error {
	r.got = append(r.got, recordedEvent{"error", id, msg})
	return nil
}

// TestEventCore: warnings and errors reach the event log as one line of text with their
// fields; information stays in the agent's own log.
func TestEventCore(t *testing.T) {
	rec := &eventRecorder{}
	log := zap.New(newEventCore(rec)).Named("agent").With(zap.String("device", "ws1"))
	log.Info("agent running")
	log.Warn("push refused; the previous config stays", zap.String("file", `C:\ProgramData\tollgate\conf.d\10-site.yaml`))
	log.Error("journal stopped", zap.Error(errors.New("disk full")))
	want := []recordedEvent{
		{"warning", eventWarning, `agent	push refused; the previous config stays	{"device": "ws1", "file": "C:\\ProgramData\\tollgate\\conf.d\\10-site.yaml"}` + "\n"},
		{"error", eventError, `agent	journal stopped	{"device": "ws1", "error": "disk full"}` + "\n"},
	}
	if len(rec.got) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(rec.got), rec.got, len(want))
	}
	for i := range want {
		if rec.got[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, rec.got[i], want[i])
		}
	}
}
