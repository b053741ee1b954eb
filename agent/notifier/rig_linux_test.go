//go:build linux

package notifier_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"tollgate/agent/agenttest"
	"tollgate/agent/notifier"
	"tollgate/agent/notifier/notifiertest"
	"tollgate/clock/clocktest"
	"tollgate/platform"
)

// The tests run the real `tollgate run` and real product processes, built once in
// TestMain, on agenttest's workstations.
var bins agenttest.Bins

func TestMain(m *testing.M) { os.Exit(agenttest.Main(m, &bins)) }

// newRig is a workstation whose agent runs without the pre-exec gate, so a denied
// product starts and is then closed; Start starts it.
func newRig(t testing.TB, available int64) *agenttest.Rig {
	return agenttest.New(t, agenttest.Options{Bins: bins, Available: available, NoGate: true})
}

// otherUser is the second OS account of TestOtherUsersMessagesAreNotShown; agent_test
// uses its own name, so the two packages' tests may run at once.
const otherUser = "tgnotify"

// shareWith lets u run the tollgate binary and reach the rig's socket and products, as
// the licensing user tgtest@studio.example, whom the rig's entitlement file lists; call
// it before Start.
func shareWith(t testing.TB, r *agenttest.Rig, u *user.User) {
	t.Helper()
	for _, d := range []string{filepath.Dir(bins.Tollgate), r.Dir, filepath.Dir(r.Dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("identity:\n  table: {%s: tgtest@studio.example}\n", u.Username)
	agenttest.Write(t, r.Config, strings.Replace(string(cfg), "identity:\n", table, 1))
}

func credential(t testing.TB, u *user.User) *syscall.Credential {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// launchAs starts a product process of the rig as u would; Rig.Launch starts it as root.
func launchAs(t testing.TB, r *agenttest.Rig, name string, u *user.User) {
	t.Helper()
	c := exec.Command(filepath.Join(r.Dir, name))
	c.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, u)}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
}

// running is a notifier run in-process, as root, with the fake clock and, unless the
// test gives the real one, the recording display.
type running struct {
	t       testing.TB
	display *notifiertest.Display
	clock   *clocktest.Clock
	logs    *observer.ObservedLogs
}

func runNotifier(t testing.TB, socket string, display platform.Notifier) *running {
	t.Helper()
	rec := &notifiertest.Display{}
	if display == nil {
		display = rec
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))
	clock := clocktest.New(agenttest.Day1)
	n := notifier.New(notifier.Options{Socket: socket, Display: display, Logger: log, Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: got %v, want nil when stopped", err)
		}
	})
	return &running{t: t, display: rec, clock: clock, logs: logs}
}

// backoff waits for the notifier to sleep before its next attempt to reach the agent,
// and returns how long it sleeps; release ends the sleep.
func (n *running) backoff() (d time.Duration, release func()) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.clock.BlockUntil(ctx, 1); err != nil {
		n.t.Fatalf("the notifier never waited to retry: %v", err)
	}
	d = n.clock.Pending()[0]
	return d, func() { n.clock.Advance(d) }
}

// eventually polls cond; the deadline only bounds "never happened".
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// connected waits until the notifier has subscribed for the k-th time.
func (n *running) connected(k int) {
	n.t.Helper()
	eventually(n.t, fmt.Sprintf("connection %d to the agent", k), func() bool {
		return n.logs.FilterMessage("connected to the agent").Len() >= k
	})
}

// shown waits for a notice titled title and returns it.
func (n *running) shown(title string) platform.Notice {
	n.t.Helper()
	var got platform.Notice
	eventually(n.t, fmt.Sprintf("%q to be shown (shown so far: %q)", title, n.titles()), func() bool {
		for _, x := range n.display.Notices() {
			if x.Title == title {
				got = x
				return true
			}
		}
		return false
	})
	return got
}

func (n *running) titles() []string {
	var out []string
	for _, x := range n.display.Notices() {
		out = append(out, x.Title)
	}
	return out
}

// syncBuffer is an output a subprocess writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
