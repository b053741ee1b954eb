package localapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/platform"
)

// testSocket is a local API address of the test's own: a unix socket in a temporary folder, or
// a named pipe of its own on Windows.
func testSocket(t *testing.T) string {
	if runtime.GOOS == "windows" {
		return fmt.Sprintf(`\\.\pipe\tollgate-test-%d-%d`, time.Now().UnixNano(), len(t.Name()))
	}
	return filepath.Join(t.TempDir(), "tollgate.sock")
}

// TestClientTimeout: an agent that takes the connection and never answers fails each call within
// the client's timeout with a sentence that says what to do, and the next call, once the agent
// answers again, succeeds. (On Wine the first pipe client reaches an instance nobody serves and
// fails the same way.)
func TestClientTimeout(t *testing.T) {
	socket := testSocket(t)
	ln, err := platform.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	var stall atomic.Bool
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stall.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"device":"ws-1","caller":"mary"}`)
	})}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		close(release)
		srv.Close()
		<-done
	})

	const timeout = 700 * time.Millisecond
	c := NewClientWith(socket, ClientOptions{Timeout: timeout})
	ctx := context.Background()
	tests := []struct {
		name  string
		stall bool
		call  func() error
	}{
		{"status, stuck", true, func() error { _, err := c.Status(ctx); return err }},
		{"check, stuck", true, func() error { _, err := c.Check(ctx, "revit", ""); return err }},
		{"events, stuck", true, func() error { return c.Events(ctx, func(Message) {}) }},
		{"status, answering again", false, func() error { _, err := c.Status(ctx); return err }},
	}
	for _, tt := range tests {
		stall.Store(tt.stall)
		start := time.Now()
		err := tt.call()
		took := time.Since(start)
		if !tt.stall {
			if err != nil {
				t.Errorf("%s: got %v, want an answer", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrAgentTimeout) {
			t.Errorf("%s: got %v, want ErrAgentTimeout", tt.name, err)
			continue
		}
		if took > timeout+2*time.Second {
			t.Errorf("%s: gave up after %v, want about %v", tt.name, took, timeout)
		}
		if msg := err.Error(); !strings.Contains(msg, socket) || !strings.Contains(msg, "try again") {
			t.Errorf("%s: got message %q, want it to name %s and say to try again", tt.name, msg, socket)
		}
	}
}
