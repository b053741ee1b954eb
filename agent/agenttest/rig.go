//go:build linux

// Package agenttest runs the real tollgate agent and real product processes for tests: a
// workstation in a folder, with its config, state, socket and a clock file that only the
// test moves.
package agenttest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

// Bins are the binaries a rig runs.
type Bins struct {
	Tollgate string // the tollgate binary
	Product  string // a stand-in product: it creates $TOLLGATE_MARKER first, then waits to be closed
}

// Build builds both binaries into dir.
func Build(dir string) (Bins, error) {
	b := Bins{Tollgate: filepath.Join(dir, "tollgate"), Product: filepath.Join(dir, "product")}
	for _, x := range [][2]string{{b.Tollgate, "tollgate"}, {b.Product, "tollgate/agent/testdata/product"}} {
		if out, err := exec.Command("go", "build", "-o", x[0], x[1]).CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %v\n%s", x[1], err, out)
		}
	}
	return b, nil
}

// Main builds the binaries into a temporary folder for a test package's TestMain, runs
// its tests, and returns the exit code.
func Main(m *testing.M, bins *Bins) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return m.Run() // fuzz targets run no binaries, and every fuzz worker runs Main
	}
	dir, err := os.MkdirTemp("", "tollgate-bins")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bins, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Day1 is Monday 08:00 UTC, when every clock starts.
var Day1 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// Clock is a clock file the agents (and a ledger) read, and the test moves.
type Clock struct {
	Path string
	Now  time.Time
}

// NewClock makes a clock file at Day1 in dir.
func NewClock(t testing.TB, dir string) *Clock {
	c := &Clock{Path: filepath.Join(dir, "clock")}
	c.Set(t, Day1)
	return c
}

// Set moves the clock to at.
func (c *Clock) Set(t testing.TB, at time.Time) {
	t.Helper()
	c.Now = at
	Write(t, c.Path, at.Format(time.RFC3339Nano))
}

// Options says what workstation to make.
type Options struct {
	Bins Bins
	// Available makes the agent decide from an entitlement file, with this many tokens in
	// team studio for users root@ and tgtest@studio.example (ignored with LedgerURL).
	Available int64
	// LedgerURL and EnrollToken make the agent enroll with and sync to a ledger.
	LedgerURL   string
	EnrollToken string
	Clock       *Clock   // shared with other rigs and the ledger; nil: the rig's own
	NoGate      bool     // closing denied launches after start is then the only line
	Args        []string // more arguments for `tollgate run`
	// NoFile runs the agent with this limit on open descriptors, soft and hard (prlimit).
	NoFile uint64
}

// Rig is one workstation.
type Rig struct {
	T       testing.TB
	Dir     string
	Config  string
	Snap    string
	Sock    string
	State   string
	Log     string
	Clock   *Clock
	Client  *localapi.Client
	opts    Options
	agent   *exec.Cmd
	done    chan error
	running []*exec.Cmd
	// What a script started: its processes by name, how many of each product run, and
	// which product each name is.
	scripted struct {
		procs   map[string]*exec.Cmd
		running map[string]int
		product map[string]string
	}
}

// Procs is where a script keeps the processes it started, across calls.
func (r *Rig) Procs() (procs map[string]*exec.Cmd, running map[string]int, product map[string]string) {
	if r.scripted.procs == nil {
		r.scripted.procs, r.scripted.running, r.scripted.product = map[string]*exec.Cmd{}, map[string]int{}, map[string]string{}
	}
	return r.scripted.procs, r.scripted.running, r.scripted.product
}

// Products match by path, so that agents of tests running at once, each watching every
// process on the machine, never take another test's processes for their own.
const baseConfig = `admin_contact: "Studio IT, it@studio.example, ext. 200"
%[1]s
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

// New makes a workstation; Start starts its agent.
func New(t testing.TB, o Options) *Rig {
	t.Helper()
	dir := t.TempDir()
	r := &Rig{T: t, Dir: dir, Config: filepath.Join(dir, "etc", "tollgate.yaml"), Snap: filepath.Join(dir, "etc", "snapshot.yaml"),
		Sock: filepath.Join(dir, "tollgate.sock"), State: filepath.Join(dir, "state"), Log: filepath.Join(dir, "agent.log"), Clock: o.Clock, opts: o}
	r.Client = localapi.NewClient(r.Sock)
	for _, d := range []string{"etc", "bin", "gated"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	source := "entitlement_file: " + r.Snap
	if o.LedgerURL != "" {
		tok := filepath.Join(dir, "etc", "enroll.token")
		Write(t, tok, o.EnrollToken)
		source = fmt.Sprintf("ledger:\n  url: %s\n  enrollment_token_file: %s", o.LedgerURL, tok)
	} else {
		r.SetAvailable(o.Available)
	}
	Write(t, r.Config, fmt.Sprintf(baseConfig, source, dir))
	if r.Clock == nil {
		r.Clock = NewClock(t, dir)
	}
	for _, name := range []string{"bin/revit", "bin/acad", "gated/rhino"} {
		copyFile(t, o.Bins.Product, filepath.Join(dir, name))
	}
	t.Cleanup(r.cleanup)
	return r
}

// SetAvailable rewrites the entitlement file with n tokens available.
func (r *Rig) SetAvailable(n int64) {
	Write(r.T, r.Snap, fmt.Sprintf(`as_of: %s
rates: {revit: 10, autocad: 7, rhino: 5}
available: {studio: %d}
users:
  - {user: root@studio.example, team: studio, assigned: true}
  - {user: tgtest@studio.example, team: studio, assigned: true}
`, Day1.Format(time.RFC3339), n))
}

// Write writes a file whole, by rename, as a deployment tool does.
func Write(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
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

// SetClock moves the clock (shared with every rig on it) to at.
func (r *Rig) SetClock(at time.Time) { r.Clock.Set(r.T, at) }

// Now is the clock's time.
func (r *Rig) Now() time.Time { return r.Clock.Now }

// Start starts the agent and waits until it answers.
func (r *Rig) Start() {
	r.T.Helper()
	logf, err := os.OpenFile(r.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.T.Fatal(err)
	}
	r.agent = exec.Command(r.opts.Bins.Tollgate, "run", "--config", r.Config, "--state", r.State, "--socket", r.Sock,
		"--clock-file", r.Clock.Path, fmt.Sprintf("--gate=%v", !r.opts.NoGate), "--sync-retry-max=1s")
	r.agent.Args = append(r.agent.Args, r.opts.Args...)
	if n := r.opts.NoFile; n > 0 {
		// prlimit sets the limit and execs the agent: the pid stays the agent's.
		prl, err := exec.LookPath("prlimit")
		if err != nil {
			r.T.Fatalf("NoFile needs prlimit (util-linux): %v", err)
		}
		r.agent.Args = append([]string{prl, fmt.Sprintf("--nofile=%d:%d", n, n), "--"}, r.agent.Args...)
		r.agent.Path = prl
	}
	r.agent.Stdout, r.agent.Stderr = logf, logf
	if err := r.agent.Start(); err != nil {
		r.T.Fatal(err)
	}
	logf.Close()
	r.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(r.agent, r.done)
	r.WaitFor("the agent to answer", func(localapi.Status) bool { return true })
}

// Pid is the running agent's process id.
func (r *Rig) Pid() int { return r.agent.Process.Pid }

// Kill ends the agent with SIGKILL, as a crash or a power cut would.
func (r *Rig) Kill() {
	r.agent.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.agent = nil
}

// Stop asks the agent to stop and checks it stopped cleanly.
func (r *Rig) Stop() {
	r.T.Helper()
	r.agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			r.T.Errorf("agent exited with %v, want 0\n%s", err, r.LogTail())
		}
	case <-time.After(10 * time.Second):
		r.T.Errorf("agent did not stop within 10s of SIGTERM")
		r.Kill()
	}
	r.agent = nil
}

func (r *Rig) cleanup() {
	for _, c := range r.running {
		c.Process.Kill()
		c.Wait()
	}
	if r.agent != nil {
		r.Kill()
	}
	if r.T.Failed() {
		r.T.Logf("agent log (%s):\n%s", r.Dir, r.LogTail())
	}
}

// LogTail is the end of the agent's log.
func (r *Rig) LogTail() string {
	data, _ := os.ReadFile(r.Log)
	lines := strings.Split(string(data), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// Launch starts a product process (bin/revit, bin/acad, gated/rhino), as the user would.
func (r *Rig) Launch(name string, env ...string) *exec.Cmd {
	r.T.Helper()
	c, err := r.TryLaunch(name, env...)
	if err != nil {
		r.T.Fatal(err)
	}
	return c
}

// TryLaunch starts a product process and returns the error the exec gave, if any.
func (r *Rig) TryLaunch(name string, env ...string) (*exec.Cmd, error) {
	c := exec.Command(filepath.Join(r.Dir, name))
	c.Env = append(os.Environ(), env...)
	if err := c.Start(); err != nil {
		return nil, err
	}
	r.running = append(r.running, c)
	return c, nil
}

// Quit ends a product process as the user closing it would.
func (r *Rig) Quit(c *exec.Cmd) {
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
}

// WaitFor polls the agent's status until cond holds; the deadline is generous, as this
// is not a timing assertion.
func (r *Rig) WaitFor(what string, cond func(localapi.Status) bool) localapi.Status {
	r.T.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last localapi.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := r.Client.Status(ctx)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case err := <-r.done:
			r.T.Fatalf("agent exited while waiting for %s: %v\n%s", what, err, r.LogTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.T.Fatalf("timed out waiting for %s; last status: %s (%v)\n%s", what, brief(last), lastErr, r.LogTail())
	return last
}

// brief is a status short enough to read in a failure.
func brief(st localapi.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "now %s, backlog %d, sessions %+v", st.Now.Format(time.RFC3339), st.Backlog, st.Sessions)
	if st.Ledger != nil {
		fmt.Fprintf(&b, ", ledger %+v", *st.Ledger)
	}
	ms := st.Messages
	if len(ms) > 3 {
		ms = ms[len(ms)-3:]
	}
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  message %s %s: %s", m.At.Format(time.RFC3339), m.Kind, m.Title)
	}
	return b.String()
}

// Settled waits until the agent has read the clock as it is now, and cond holds.
func (r *Rig) Settled(cond func(localapi.Status) bool) localapi.Status {
	r.T.Helper()
	return r.WaitFor("the agent at "+r.Now().Format(time.RFC3339), func(st localapi.Status) bool {
		return st.Now.Equal(r.Now()) && (cond == nil || cond(st))
	})
}

// Charges reads the journal of a stopped agent: every charge it recorded.
func (r *Rig) Charges() []charge.Effect {
	r.T.Helper()
	var out []charge.Effect
	for _, e := range r.Entries() {
		if e.Effect.Kind == charge.Charged {
			out = append(out, e.Effect)
		}
	}
	return out
}

// Entries reads the outbox of a stopped agent.
func (r *Rig) Entries() []journal.Entry {
	r.T.Helper()
	j, err := journal.Open(filepath.Join(r.State, "journal.db"))
	if err != nil {
		r.T.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Entries()
	if err != nil {
		r.T.Fatal(err)
	}
	return entries
}

// SessionOf finds the session of product in a status.
func SessionOf(st localapi.Status, product string) (charge.Session, bool) {
	for _, s := range st.Sessions {
		if s.Product == product {
			return s, true
		}
	}
	return charge.Session{}, false
}

// MessageOf finds a message of a kind in a status.
func MessageOf(st localapi.Status, kind localapi.MessageKind) (localapi.Message, bool) {
	for _, m := range st.Messages {
		if m.Kind == kind {
			return m, true
		}
	}
	return localapi.Message{}, false
}
