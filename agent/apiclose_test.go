//go:build linux

package agent_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"

	"tollgate/agent"
	"tollgate/agent/localapi"
	"tollgate/platform"
)

// TestStreamsEndWithTheAgent: a notifier's event stream is the local API's one long request;
// when the agent stops, the stream ends with it rather than outlive Run (in `tollgate up`,
// where the agent runs inside a process that goes on).
func TestStreamsEndWithTheAgent(t *testing.T) {
	r := newRig(t, 100)
	a, err := agent.New(agent.Options{ConfigFile: r.Config, StateDir: r.State, Socket: r.Sock, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	r.WaitFor("the agent", func(localapi.Status) bool { return true })

	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return platform.Dial(ctx, r.Sock)
	}}}
	resp, err := hc.Get("http://tollgate/v0/events") // answered once the subscription is in place
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s for the event stream, want 200", resp.Status)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()

	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("Run ended with %v, want nil", err)
	}
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		t.Fatal("the event stream was still open 20s after Run returned, want it ended with the agent")
	}
}
