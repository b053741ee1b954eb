//go:build linux

package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tollgate/agent"
	"tollgate/agent/journal"
	"tollgate/charge"
)

// The end-to-end tests run the real `tollgate run` and real product processes. The
// binaries are built once, in TestMain.
var (
	tollgateBin string
	productBin  string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tollgate-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
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

// rig is one workstation: a config folder, a state folder, a clock file, the agent.
type rig struct {
	t       testing.TB
	dir     string
	cfg     string
	snap    string
	clock   string
	sock    string
	state   string
	now     time.Time
	agent   *exec.Cmd
	done    chan error
	log     string
	client  *agent.Client
	running []*exec.Cmd
	noGate  bool     // closing denied launches after start is then the only line
	args    []string // more arguments for `tollgate run`
}

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
      path: ["%[2]s/gated/*"]
policy:
  poll_interval: 50ms
`

func newRig(t testing.TB, available int64) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{t: t, dir: dir, cfg: filepath.Join(dir, "etc", "tollgate.yaml"), snap: filepath.Join(dir, "etc", "snapshot.yaml"),
		clock: filepath.Join(dir, "clock"), sock: filepath.Join(dir, "tollgate.sock"), state: filepath.Join(dir, "state"),
		log: filepath.Join(dir, "agent.log"), now: day1}
	r.client = agent.NewClient(r.sock)
	for _, d := range []string{"etc", "bin", "gated"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.write(r.cfg, fmt.Sprintf(baseConfig, r.snap, dir))
	r.setAvailable(available)
	r.setClock(day1)
	for _, name := range []string{"bin/revit", "bin/acad", "gated/rhino"} {
		copyFile(t, productBin, filepath.Join(dir, name))
	}
	t.Cleanup(r.cleanup)
	return r
}

func (r *rig) setAvailable(n int64) {
	r.write(r.snap, fmt.Sprintf(`as_of: %s
rates: {revit: 10, autocad: 7, rhino: 5}
available: {studio: %d}
users:
  - {user: root@studio.example, team: studio, assigned: true}
  - {user: tgtest@studio.example, team: studio, assigned: true}
`, day1.Format(time.RFC3339), n))
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

// setClock moves the agent's clock (the file it reads) to t.
func (r *rig) setClock(t time.Time) {
	r.now = t
	r.write(r.clock, t.Format(time.RFC3339Nano))
}

func (r *rig) start() {
	r.t.Helper()
	logf, err := os.OpenFile(r.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	r.agent = exec.Command(tollgateBin, "run", "--config", r.cfg, "--state", r.state, "--socket", r.sock, "--clock-file", r.clock,
		fmt.Sprintf("--gate=%v", !r.noGate))
	r.agent.Args = append(r.agent.Args, r.args...)
	r.agent.Stdout, r.agent.Stderr = logf, logf
	if err := r.agent.Start(); err != nil {
		r.t.Fatal(err)
	}
	logf.Close()
	r.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(r.agent, r.done)
	r.waitFor("the agent to answer", func(st agent.Status) bool { return true })
}

// kill ends the agent with SIGKILL, as a crash or a power cut would.
func (r *rig) kill() {
	r.agent.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.agent = nil
}

// stop asks the agent to stop and checks it stopped cleanly.
func (r *rig) stop() {
	r.t.Helper()
	r.agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("agent exited with %v, want 0\n%s", err, r.logTail())
		}
	case <-time.After(10 * time.Second):
		r.t.Errorf("agent did not stop within 10s of SIGTERM")
		r.kill()
	}
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
		r.t.Logf("agent log:\n%s", r.logTail())
	}
}

func (r *rig) logTail() string {
	data, _ := os.ReadFile(r.log)
	lines := strings.Split(string(data), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// launch starts a product process, as the user would.
func (r *rig) launch(name string, env ...string) *exec.Cmd {
	r.t.Helper()
	c := exec.Command(filepath.Join(r.dir, name))
	c.Env = append(os.Environ(), env...)
	if err := c.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.running = append(r.running, c)
	return c
}

// quit ends a product process as the user closing it would.
func (r *rig) quit(c *exec.Cmd) {
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
}

// waitFor polls the agent's status until cond holds; the deadline is generous, as this
// is not a timing assertion.
func (r *rig) waitFor(what string, cond func(agent.Status) bool) agent.Status {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last agent.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := r.client.Status(ctx)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case err := <-r.done:
			r.t.Fatalf("agent exited while waiting for %s: %v\n%s", what, err, r.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.t.Fatalf("timed out waiting for %s; last status %+v (%v)\n%s", what, last, lastErr, r.logTail())
	return last
}

// settled waits until the agent has read the clock as it is now.
func (r *rig) settled(cond func(agent.Status) bool) agent.Status {
	r.t.Helper()
	return r.waitFor("the agent at "+r.now.Format(time.RFC3339), func(st agent.Status) bool {
		return st.Now.Equal(r.now) && (cond == nil || cond(st))
	})
}

// charges reads the journal of a stopped agent: every charge it recorded.
func (r *rig) charges() []charge.Effect {
	r.t.Helper()
	j, err := journal.Open(filepath.Join(r.state, "journal.db"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Entries(false, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []charge.Effect
	for _, e := range entries {
		if e.Effect.Kind == charge.Charged {
			out = append(out, e.Effect)
		}
	}
	return out
}

func sessionOf(st agent.Status, product string) (charge.Session, bool) {
	for _, s := range st.Sessions {
		if s.Product == product {
			return s, true
		}
	}
	return charge.Session{}, false
}

func messageOf(st agent.Status, kind string) (agent.Message, bool) {
	for _, m := range st.Messages {
		if m.Kind == kind {
			return m, true
		}
	}
	return agent.Message{}, false
}

// launchErr starts a product and returns the error the exec gave, if any.
func (r *rig) launchErr(name string, env ...string) error {
	c := exec.Command(filepath.Join(r.dir, name))
	c.Env = append(os.Environ(), env...)
	if err := c.Start(); err != nil {
		return err
	}
	r.running = append(r.running, c)
	return nil
}
