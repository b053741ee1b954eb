package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"tollgate/agent/localapi"
)

// TestStreamSkipsHeartbeats reads a stream as the agent writes it: the agent's heartbeat (a
// blank line every 25s on a quiet stream) between messages is no message, and the stream goes
// on past it (before, the notifier took it for one, failed with "unexpected end of JSON input"
// and reconnected every 25s, as the Windows run under Wine showed).
func TestStreamSkipsHeartbeats(t *testing.T) {
	want := []localapi.Message{{At: t0, User: "mary@studio.example", Product: "revit", Kind: "grace", Title: "Autodesk Revit started"},
		{At: t0, User: "mary@studio.example", Product: "revit", Kind: "charged", Title: "Autodesk Revit: 10 tokens charged"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		for _, line := range []string{"\n", "\n", line(t, want[0]), "\n", line(t, want[1]), "\n"} {
			w.Write([]byte(line))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}}}
	s, err := subscribe(context.Background(), hc)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for i, w := range want {
		got, err := s.next()
		if err != nil || got.Title != w.Title || got.Kind != w.Kind {
			t.Fatalf("message %d: got %+v, %v, want %+v", i, got, err, w)
		}
	}
	if _, err := s.next(); !errors.Is(err, errAgentGone) {
		t.Errorf("after the last message and a heartbeat: got %v, want the end of the stream (%v)", err, errAgentGone)
	}
}

func line(t *testing.T, m localapi.Message) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}
