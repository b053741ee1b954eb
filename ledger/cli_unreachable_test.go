package ledger_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"tollgate/ledger"
)

// TestCLIUnreachableLedger: an admin verb that cannot reach the ledger says so in words,
// where it looked and how to point it elsewhere, not as a Go network error.
func TestCLIUnreachableLedger(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := "http://" + l.Addr().String()
	l.Close() // nothing answers there now
	tests := []struct {
		name, url string
		want      []string
	}{
		{"nothing listening", closed, []string{"cannot reach the ledger at " + closed, "nothing answers there", "is the ledger running?", "--url"}},
		{"not a ledger address", "http://127.0.0.1:0", []string{"cannot reach the ledger at http://127.0.0.1:0", "--url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ledger.Main(context.Background(), io.Discard, io.Discard, []string{"report", "tokens", "--url", tt.url, "--token", "tga_x"})
			if err == nil {
				t.Fatal("got no error, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "dial tcp") {
				t.Errorf("got %q, want words, not the network error", err)
			}
		})
	}
}
