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

	"tollgate/agent"
	"tollgate/agent/notifier"
	"tollgate/agent/notifier/notifiertest"
	"tollgate/platform"
)

// The tests run the real `tollgate run` and real product processes; the binaries are
// built once, in TestMain. The harness follows the agent's own tests (agent/rig_test.go).
var (
	tollgateBin string
	productBin  string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tollgate-notifier")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // a second OS user runs the binary
	tollgateBin = filepath.Join(dir, "tollgate")
	productBin = filepath.Join(dir, "product")
	for _, b := range [][2]string{{tollgateBin, "tollgate"}, {productBin, "tollgate/agent/testdata/product"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b[1], err, out)
			return 1
		}
	}
	return m.Run()
}

var day1 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// otherUser is the second OS account of TestOtherUsersMessagesAreNotShown.
const otherUser = "tgnotify"

// Products match by path, so that agents of tests running at once, each watching every
// process on the machine, never take another test's processes for their own.
const baseConfig = `admin_contact: "Studio IT, it@studio.example, ext. 200"
entitlement_file: %[1]s
identity:
  template: "{user}@studio.example"
products:
  - id: revit
    name: Autodesk Revit
    match:
      path: ["%[2]s/bin/revit"]
  - id: autocad
    name: AutoCAD
    match:
      path: ["%[2]s/bin/acad"]
  - id: rhino
    name: Rhino
    match:
      path: ["%[2]s/bin/rhino"]
policy:
  poll_interval: 50ms
`

// rig is one workstation: a config folder, a state folder, a clock file, the agent. The
// agent runs without the pre-exec gate, so a denied product starts and is closed.
type rig struct {
	t       testing.TB
	dir     string
	cfg     string
	snap    string
	clock   string
	sock    string
	state   string
	log     string
	now     time.Time
	client  *agent.Client
	agent   *exec.Cmd
	done    chan error
	running []*exec.Cmd
}

func newRig(t testing.TB, available int64) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{t: t, dir: dir, cfg: filepath.Join(dir, "etc", "tollgate.yaml"), snap: filepath.Join(dir, "etc", "snapshot.yaml"),
		clock: filepath.Join(dir, "clock"), sock: filepath.Join(dir, "tollgate.sock"), state: filepath.Join(dir, "state"),
		log: filepath.Join(dir, "agent.log")}
	r.client = agent.NewClient(r.sock)
	for _, d := range []string{"etc", "bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A second OS user reaches the socket and the products through these.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.write(r.cfg, fmt.Sprintf(baseConfig, r.snap, dir))
	r.write(r.snap, fmt.Sprintf(`as_of: %s
rates: {revit: 10, autocad: 7, rhino: 5}
available: {studio: %d}
users:
  - {user: root@studio.example, team: studio, assigned: true}
  - {user: %s@studio.example, team: studio, assigned: true}
`, day1.Format(time.RFC3339), available, otherUser))
	r.setClock(day1)
	for _, name := range []string{"bin/revit", "bin/acad", "bin/rhino"} {
		copyFile(t, productBin, filepath.Join(dir, name))
	}
	t.Cleanup(r.cleanup)
	return r
}

func (r *rig) write(path, content string) {
	r.t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		r.t.Fatal(err)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// setClock moves the agent's clock (the file it reads) to at.
func (r *rig) setClock(at time.Time) {
	r.now = at
	r.write(r.clock, at.Format(time.RFC3339Nano))
}

func (r *rig) start() {
	r.t.Helper()
	logf, err := os.OpenFile(r.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	r.agent = exec.Command(tollgateBin, "run", "--config", r.cfg, "--state", r.state, "--socket", r.sock,
		"--clock-file", r.clock, "--gate=false")
	r.agent.Stdout, r.agent.Stderr = logf, logf
	if err := r.agent.Start(); err != nil {
		r.t.Fatal(err)
	}
	logf.Close()
	r.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(r.agent, r.done)
	r.waitFor("the agent to answer", func(agent.Status) bool { return true })
}

// kill ends the agent with SIGKILL, as a crash would.
func (r *rig) kill() {
	r.agent.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.agent = nil
}

func (r *rig) cleanup() {
	for _, c := range r.running {
		c.Process.Kill()
		c.Wait()
	}
	if r.agent != nil {
		r.kill()
	}
	if r.t.Failed() {
		data, _ := os.ReadFile(r.log)
		lines := strings.Split(string(data), "\n")
		r.t.Logf("agent log:\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
	}
}

// launch starts a product process as the user would; as is nil for root.
func (r *rig) launch(name string, as *user.User) *exec.Cmd {
	r.t.Helper()
	c := exec.Command(filepath.Join(r.dir, name))
	if as != nil {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: credential(r.t, as)}
	}
	if err := c.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.running = append(r.running, c)
	return c
}

// waitFor polls the agent's status until cond holds; the deadline is generous, as this
// is not a timing assertion.
func (r *rig) waitFor(what string, cond func(agent.Status) bool) agent.Status {
	r.t.Helper()
	var last agent.Status
	var lastErr error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := r.client.Status(ctx)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case err := <-r.done:
			r.t.Fatalf("agent exited while waiting for %s: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.t.Fatalf("timed out waiting for %s; last status %+v (%v)", what, last, lastErr)
	return last
}

func hasMessage(title string) func(agent.Status) bool {
	return func(st agent.Status) bool {
		for _, m := range st.Messages {
			if m.Title == title {
				return true
			}
		}
		return false
	}
}

// osUser creates a second, unprivileged OS account for the test and removes it after.
func osUser(t *testing.T, name string) *user.User {
	t.Helper()
	var out []byte
	var err error
	for range 20 { // useradd refuses while another test holds /etc/passwd's lock
		if out, err = exec.Command("useradd", "--no-create-home", "--shell", "/bin/false", name).CombinedOutput(); err == nil || strings.Contains(string(out), "already exists") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !strings.Contains(string(out), "already exists") {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		for range 20 {
			if exec.Command("userdel", name).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
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

// running is a notifier run in-process, as root, with the fake clock and, unless the
// test gives the real one, the recording display.
type running struct {
	t       testing.TB
	display *notifiertest.Display
	clock   *notifiertest.Clock
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
	clock := notifiertest.NewClock(day1)
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
