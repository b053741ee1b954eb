package ctl

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/platform"
)

// TestMain lets the test binary stand in for a product the gate starts: run with
// TOLLGATE_GATE_PRODUCT=FILE, it writes the time it started to FILE and exits 7.
func TestMain(m *testing.M) {
	if f := os.Getenv("TOLLGATE_GATE_PRODUCT"); f != "" {
		os.WriteFile(f, []byte(time.Now().Format(time.RFC3339Nano)), 0o644)
		os.Exit(7)
	}
	os.Exit(m.Run())
}

// stalledAgent serves a pipe the way an agent stuck on its ledger would: it takes every
// connection and never answers.
func stalledAgent(t *testing.T, pipe string) {
	t.Helper()
	ln, err := platform.Listen(pipe)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
}

// TestGateBudgetWindows runs the gate as Windows would (Gate on the command line the Image File
// Execution Options hand it, the agent asked over the real pipe, the product started past the
// entry): when the agent does not answer, the product is started once the gate's budget is
// spent, well before the client's own timeout, and the gate hands back the product's exit code.
func TestGateBudgetWindows(t *testing.T) {
	dir := removableTempDir(t)
	cfg := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(cfg, []byte("ledger: {url: \"https://ledger.studio.example\"}\nproducts:\n  - id: revit\n    name: Autodesk Revit\n    match: {exe: [Revit.exe]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	revit := filepath.Join(dir, "Revit.exe")
	if err := os.WriteFile(revit, b, 0o755); err != nil {
		t.Fatal(err)
	}
	stalled := fmt.Sprintf(`\\.\pipe\tollgate-gate-stalled-%d`, time.Now().UnixNano())
	stalledAgent(t, stalled)
	// The bound: the budget, and the product's start under a loaded Wine; still below the local
	// API client's own 10s, which a gate without its budget would wait.
	const bound = gateBudget + 4*time.Second
	tests := []struct {
		name, socket string
	}{
		{"the agent takes the call and never answers", stalled},
		{"no agent serves the pipe", fmt.Sprintf(`\\.\pipe\tollgate-gate-nobody-%d`, time.Now().UnixNano())},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(dir, fmt.Sprintf("started-%d", i))
			t.Setenv("TOLLGATE_GATE_PRODUCT", marker)
			line := fmt.Sprintf(`"C:\Program Files\tollgate\tollgate.exe" gate --socket %s --config "%s" "%s" -test.run=^$`, tt.socket, cfg, revit)
			notify := func(title, body string) { t.Errorf("the gate showed %q: %q, want the product started", title, body) }
			began := time.Now()
			code, err := Gate(context.Background(), line, "", notify)
			if err != nil || code != 7 {
				t.Fatalf("got exit %d, %v, want the product run and its exit 7", code, err)
			}
			stamp, err := os.ReadFile(marker)
			if err != nil {
				t.Fatalf("the product did not run: %v", err)
			}
			started, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(stamp)))
			if err != nil {
				t.Fatal(err)
			}
			if waited := started.Sub(began); waited > bound {
				t.Errorf("the product started %v after the gate did, want at most %v (the gate's budget %v)", waited, bound, gateBudget)
			}
		})
	}
}
