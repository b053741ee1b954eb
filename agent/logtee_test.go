//go:build linux

package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"tollgate/agent"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestLogTee: a service's warnings reach the OS's service log (here an observer standing
// in for the Windows event log), and its info lines do not.
func TestLogTee(t *testing.T) {
	r := newRig(t, 100)
	core, seen := observer.New(zapcore.DebugLevel)
	a, err := agent.New(agent.Options{ConfigFile: r.Config, StateDir: r.State, Socket: r.Sock, Logger: zap.NewNop(), LogTee: core})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	r.WaitFor("the agent", func(localapi.Status) bool { return true })
	os.MkdirAll(filepath.Join(filepath.Dir(r.Config), "conf.d"), 0o755)
	agenttest.Write(t, filepath.Join(filepath.Dir(r.Config), "conf.d", "bad.yaml"), "admin_contact: [\n")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && seen.FilterMessageSnippet("refused").Len() == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if seen.FilterMessageSnippet("refused").Len() == 0 {
		t.Fatalf("got service log %v, want the refused push", seen.All())
	}
	for _, e := range seen.All() {
		if e.Level < zapcore.WarnLevel {
			t.Errorf("got %s %q in the service log, want warnings and errors only", e.Level, e.Message)
		}
		if !strings.HasPrefix(e.LoggerName, "agent") {
			t.Errorf("got logger %q, want the agent's", e.LoggerName)
		}
	}
}
