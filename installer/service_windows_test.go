package installer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/windows/svc"
)

// TestServiceHandlerWindows is tollgate's side of running as a Windows service, which Wine cannot
// show (its services run in session 1, so svc.IsWindowsService is false): the handler the
// service control manager talks to, given the requests the manager would send. It reports
// start and running, accepts a pre-shutdown, answers an interrogation, stops the agent before
// it reports stopped, and ends the service with a failure the recovery actions restart when
// the agent fails; what it writes to the event log is checked as the entries it would write.
func TestServiceHandlerWindows(t *testing.T) {
	fatal := errors.New("journal: disk full")
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	tests := []struct {
		name         string
		run          func(ctx context.Context) error
		send         []svc.Cmd // after the service reports running
		wantStates   []svc.State
		wantSpecific bool
		wantCode     uint32
		wantEvent    string // "" wants none
	}{
		{
			name:       "pre-shutdown: the agent is stopped first",
			run:        func(ctx context.Context) error { <-ctx.Done(); return nil },
			send:       []svc.Cmd{svc.Interrogate, svc.PreShutdown},
			wantStates: []svc.State{svc.StartPending, svc.Running, svc.Running, svc.StopPending},
		},
		{
			name:       "stop",
			run:        func(ctx context.Context) error { <-ctx.Done(); return nil },
			send:       []svc.Cmd{svc.Stop},
			wantStates: []svc.State{svc.StartPending, svc.Running, svc.StopPending},
		},
		{
			name:         "the agent fails: a failure the recovery actions restart",
			run:          func(context.Context) error { return fatal },
			wantStates:   []svc.State{svc.StartPending, svc.Running},
			wantSpecific: true, wantCode: exitFatal,
			wantEvent: "error: service\tthe agent stopped with an error; Windows restarts it per the service's recovery actions",
		},
		{
			name:       "an agent that will not stop: still a clean stop, with a warning",
			run:        func(context.Context) error { <-block; return nil },
			send:       []svc.Cmd{svc.Stop},
			wantStates: []svc.State{svc.StartPending, svc.Running, svc.StopPending},
			wantEvent:  "warning: service\tthe agent did not stop cleanly",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			running := make(chan struct{})
			rec := &eventRecorder{}
			h := &handler{
				ctx: t.Context(),
				p:   newProgram(RunOptions{StopTimeout: 200 * time.Millisecond, Run: func(ctx context.Context) error { close(running); return tt.run(ctx) }}),
				log: zap.New(newEventCore(rec)).Named("service"),
			}
			req := make(chan svc.ChangeRequest)
			status := make(chan svc.Status, 16)
			type result struct {
				specific bool
				code     uint32
			}
			done := make(chan result, 1)
			go func() { s, c := h.Execute(nil, req, status); done <- result{s, c} }()
			// The manager sends its requests once the service reports running.
			var got []svc.State
			for len(got) < 2 {
				select {
				case s := <-status:
					got = append(got, s.State)
					if s.State == svc.Running && s.Accepts&svc.AcceptPreShutdown == 0 {
						t.Errorf("running accepts %v, want pre-shutdown among them", s.Accepts)
					}
				case <-time.After(never):
					t.Fatalf("after %v the service reported %v, want start pending and running", never, got)
				}
			}
			<-running
			for _, c := range tt.send {
				select {
				case req <- svc.ChangeRequest{Cmd: c, CurrentStatus: svc.Status{State: svc.Running, Accepts: svc.AcceptStop}}:
				case r := <-done:
					t.Fatalf("the handler returned %+v before it took %v", r, c)
				}
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(never):
				t.Fatalf("the handler did not return within %v", never)
			}
			// A clean stop waits for the agent to return first (one that will not is given up on).
			if wait := tt.wantEvent == "" && !tt.wantSpecific; wait {
				select {
				case <-h.p.Done():
				default:
					t.Errorf("the handler reported the service stopped while the agent still ran")
				}
			}
			close(status)
			for s := range status {
				got = append(got, s.State)
			}
			if strings.Join(stateNames(got), ",") != strings.Join(stateNames(tt.wantStates), ",") {
				t.Errorf("got states %v, want %v", stateNames(got), stateNames(tt.wantStates))
			}
			if r.specific != tt.wantSpecific || r.code != tt.wantCode {
				t.Errorf("got exit (service-specific %v, code %d), want (%v, %d)", r.specific, r.code, tt.wantSpecific, tt.wantCode)
			}
			if tt.wantSpecific && !errors.Is(h.err, fatal) {
				t.Errorf("got the agent's error %v, want %v", h.err, fatal)
			}
			var events []string
			for _, e := range rec.got {
				events = append(events, e.kind+": "+e.msg)
			}
			switch {
			case tt.wantEvent == "" && len(events) != 0:
				t.Errorf("got event log entries %q, want none", events)
			case tt.wantEvent != "" && (len(events) != 1 || !strings.Contains(events[0], tt.wantEvent)):
				t.Errorf("got event log entries %q, want one with %q", events, tt.wantEvent)
			}
		})
	}
}

func stateNames(states []svc.State) []string {
	names := map[svc.State]string{svc.StartPending: "start pending", svc.Running: "running", svc.StopPending: "stop pending", svc.Stopped: "stopped"}
	var out []string
	for _, s := range states {
		out = append(out, names[s])
	}
	return out
}
