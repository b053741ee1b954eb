//go:build linux

package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/ledgertest"
)

// The tests here install the real tollgate binary into a test root (--root: the same code as
// a real install, less the service manager), check what it wrote, and run the installed
// service's command line as systemd would: from the unit's ExecStart, in /, with systemd's
// default PATH and nothing else in the environment, with the unit's capability bounding set,
// no_new_privs and umask (setpriv), stopped with SIGTERM.

// serviceBound bounds waits for things that must happen; nothing is timed against it.
const serviceBound = 30 * time.Second

// nobody runs the product processes: another user than the agent's, as at a real desk.
const nobody = 65534

type binaries struct {
	v1, v2  string // the same tollgate built as two versions, in different folders
	product string
}

// buildDir holds the binaries, built on first use; TestMain removes it.
var buildDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "tollgate-installer") })

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := buildDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (binaries, error) {
	dir, err := buildDir()
	if err != nil {
		return binaries{}, err
	}
	// The binaries must be reachable by nobody (the not-an-administrator test) and
	// writable by root only (install refuses a binary others could replace).
	for _, d := range []string{dir, filepath.Join(dir, "v2")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return binaries{}, err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return binaries{}, err
		}
	}
	b, err := agenttest.Build(dir)
	if err != nil {
		return binaries{}, err
	}
	v2 := filepath.Join(dir, "v2", "tollgate")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v2", "-o", v2, "tollgate").CombinedOutput(); err != nil {
		return binaries{}, fmt.Errorf("go build v2: %v\n%s", err, out)
	}
	return binaries{v1: b.Tollgate, v2: v2, product: b.Product}, nil
})

func bins(t *testing.T) binaries {
	t.Helper()
	b, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newRoot is an empty test root that other users can reach, as / is.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// tollgate runs the binary as a management tool would: no terminal, no input.
func tollgate(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runAs(t, -1, bin, args...)
}

// runAs runs bin as uid (-1: as the test) and returns what it printed and its exit code.
func runAs(t *testing.T, uid int, bin string, args ...string) (string, string, int) {
	t.Helper()
	c := exec.Command(bin, args...)
	if uid >= 0 {
		c = exec.Command("setpriv", append([]string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid), "--clear-groups", bin}, args...)...)
	}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", bin, err)
	}
	return out.String(), errb.String(), 0
}

func mustTollgate(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, errOut, code := tollgate(t, bin, args...)
	if code != 0 {
		t.Fatalf("tollgate %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(data), 0o755)
	if err := os.Chmod(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
}

// layout is where an install under root puts things (platform.DefaultPaths().Under(root)).
type layout struct{ root, config, dropins, state, logs, sock, unit, desktop string }

func layoutOf(root string) layout {
	return layout{
		root: root, config: root + "/etc/tollgate/tollgate.yaml", dropins: root + "/etc/tollgate/conf.d",
		state: root + "/var/lib/tollgate", logs: root + "/var/log/tollgate", sock: root + "/run/tollgate/tollgate.sock",
		unit: root + "/etc/systemd/system/tollgate.service", desktop: root + "/etc/xdg/autostart/tollgate-notifier.desktop",
	}
}

// service is the installed agent, run from its unit file as systemd would run it.
type installedService struct {
	t      *testing.T
	cmd    *exec.Cmd
	done   chan error
	log    string
	client *localapi.Client
}

// startService runs the unit's ExecStart with the unit's sandbox settings that apply
// without systemd, plus extra arguments (the test's clock).
func startService(t *testing.T, l layout, extra ...string) *installedService {
	t.Helper()
	keys := unitKeys(t, l.unit)
	argv := append(splitExecStart(t, keys["ExecStart"][0]), extra...)
	var caps []string
	for _, c := range strings.Fields(keys["CapabilityBoundingSet"][0]) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	setpriv := []string{"--bounding-set=-all," + strings.Join(caps, ",")}
	if keys["NoNewPrivileges"][0] == "yes" {
		setpriv = append(setpriv, "--no-new-privs")
	}
	// setpriv has no umask; a shell sets it and execs, so the agent is the process we signal.
	shell := append([]string{"-c", fmt.Sprintf(`umask %s && exec setpriv "$@"`, keys["UMask"][0]), "sh"}, setpriv...)
	s := &installedService{t: t, log: filepath.Join(t.TempDir(), "service.log"), client: localapi.NewClient(l.sock), done: make(chan error, 1)}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command("/bin/sh", append(shell, argv...)...)
	s.cmd.Dir = keys["WorkingDirectory"][0]
	s.cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"} // systemd's default
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd != nil {
			s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			data, _ := os.ReadFile(s.log)
			t.Logf("service output:\n%s", data)
		}
	})
	s.waitFor("the agent to answer", func(localapi.Status) bool { return true })
	return s
}

func (s *installedService) waitFor(what string, cond func(localapi.Status) bool) localapi.Status {
	s.t.Helper()
	deadline := time.Now().Add(serviceBound)
	var last localapi.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := s.client.Status(ctx)
		cancel()
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case err := <-s.done:
			s.cmd = nil
			data, _ := os.ReadFile(s.log)
			s.t.Fatalf("the service exited (%v) while waiting for %s\n%s", err, what, data)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.t.Fatalf("timed out waiting for %s; last status %+v (%v)", what, last, lastErr)
	return last
}

// stop stops the service as systemd does, with SIGTERM, and wants a clean exit.
func (s *installedService) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("the service exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(serviceBound):
		s.t.Fatal("the service did not stop after SIGTERM")
	}
	s.cmd = nil
}

// launchAsNobody starts a product as another user than the agent's.
func launchAsNobody(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	c := exec.Command("setpriv", fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups", path)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
	return c
}

func sessionOf(st localapi.Status, product string) (charge.Session, bool) {
	return agenttest.SessionOf(st, product)
}

// outbox reads the journal of a stopped agent.
func outbox(t *testing.T, l layout) (charges []charge.Effect, unsent []string) {
	t.Helper()
	j, err := journal.Open(filepath.Join(l.state, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Effect.Kind == charge.Charged {
			charges = append(charges, e.Effect)
			if !e.Sent {
				unsent = append(unsent, e.ID)
			}
		}
	}
	return charges, unsent
}

// checkModes checks owners and modes: the journal is root's alone, config root-writable.
func checkModes(t *testing.T, want map[string]os.FileMode) {
	t.Helper()
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if got := fi.Mode() & (fs.ModePerm | fs.ModeDir); got != mode {
			t.Errorf("%s: got mode %v, want %v", path, got, mode)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 {
			t.Errorf("%s: owned by uid %d, want root", path, uid)
		}
	}
}

// TestServiceLifecycle is the whole life of an install on one workstation: install with a
// config, run as the service, charge while the ledger is down, upgrade to another binary
// with the charge unsent, run again, see the charge sent once the ledger is back, take a
// config push, uninstall keeping state, purge, and nothing is left.
func TestServiceLifecycle(t *testing.T) {
	b := bins(t)
	root := newRoot(t)
	l := layoutOf(root)
	clock := agenttest.NewClock(t, t.TempDir())
	led := ledgertest.Start(t, b.v1, "", clock.Path)
	enroll := led.Studio(100, "nobody@studio.example")
	revit := filepath.Join(root, "opt", "revit", "revit")
	acad := filepath.Join(root, "opt", "acad", "acad")
	copyFile(t, b.product, revit)
	copyFile(t, b.product, acad)

	cfgSrc := filepath.Join(t.TempDir(), "studio.yaml")
	cfg := fmt.Sprintf(`admin_contact: "Studio IT, it@studio.example"
ledger:
  url: %s
  enrollment_token_file: enroll.token
identity:
  template: "{user}@studio.example"
products:
  - {id: revit, name: Autodesk Revit, match: {path: [%q]}}
policy:
  poll_interval: 50ms
log:
  file: %s/agent.log
`, led.URL, revit, l.logs)
	write(t, cfgSrc, cfg, 0o600)

	// Install.
	out := mustTollgate(t, b.v1, "install", "--root", root, "--config", cfgSrc)
	for _, want := range []string{"tollgate dev installed: " + b.v1 + " run --service --config " + l.config, "config: placed the given config", "not started (--root"} {
		if !strings.Contains(out, want) {
			t.Errorf("install said:\n%s\nwant it to say %q", out, want)
		}
	}
	verifyUnit(t, l.unit)
	validateDesktop(t, l.desktop)
	checkModes(t, map[string]os.FileMode{
		root + "/etc/tollgate": fs.ModeDir | 0o755, l.dropins: fs.ModeDir | 0o755, l.config: 0o644,
		l.state: fs.ModeDir | 0o700, l.logs: fs.ModeDir | 0o750, filepath.Dir(l.sock): fs.ModeDir | 0o755,
		l.unit: 0o644, l.desktop: 0o644,
	})
	if got, _ := os.ReadFile(l.config); string(got) != cfg {
		t.Errorf("installed config:\n%s\nwant the given one", got)
	}
	// IT drops the enrollment token beside the config.
	write(t, filepath.Join(root, "etc", "tollgate", "enroll.token"), enroll, 0o600)

	// Run as the service; a product starts and is charged while the ledger is down.
	svc := startService(t, l, "--clock-file", clock.Path)
	st := svc.waitFor("the gate", func(st localapi.Status) bool { return st.Gate != "" })
	if !strings.HasPrefix(st.Gate, "on") {
		t.Errorf("got pre-exec gate %q, want on with the unit's capabilities", st.Gate)
	}
	launchAsNobody(t, revit)
	svc.waitFor("revit in grace", func(st localapi.Status) bool { s, ok := sessionOf(st, "revit"); return ok && s.State == "grace" })
	led.Kill()
	clock.Set(t, agenttest.Day1.Add(5*time.Minute))
	svc.waitFor("revit charged, unsent", func(st localapi.Status) bool {
		s, _ := sessionOf(st, "revit")
		return st.Now.Equal(clock.Now) && s.State == "paid" && st.Backlog > 0
	})
	svc.stop()
	charges, unsent := outbox(t, l)
	if len(charges) != 1 || charges[0].Tokens != 10 || charges[0].User != "nobody@studio.example" || len(unsent) != 1 {
		t.Fatalf("got charges %+v (unsent %v), want one unsent charge of 10 for nobody", charges, unsent)
	}
	checkModes(t, map[string]os.FileMode{filepath.Join(l.state, "journal.db"): 0o600, filepath.Join(l.logs, "agent.log"): 0o600})

	// Upgrade: the new binary, from elsewhere, installs over the old; config and journal stay.
	out = mustTollgate(t, b.v2, "install", "--root", root)
	for _, want := range []string{"tollgate v2 upgraded in place (journal and state kept): " + b.v2, "config: kept the config in place"} {
		if !strings.Contains(out, want) {
			t.Errorf("upgrade said:\n%s\nwant it to say %q", out, want)
		}
	}
	verifyUnit(t, l.unit)
	if got := unitKeys(t, l.unit)["ExecStart"][0]; !strings.HasPrefix(got, b.v2+" run --service") {
		t.Errorf("after the upgrade the unit runs %s, want %s", got, b.v2)
	}
	if got, _ := os.ReadFile(l.config); string(got) != cfg {
		t.Errorf("the upgrade changed the config:\n%s", got)
	}
	if _, again := outbox(t, l); !slices.Equal(again, unsent) {
		t.Fatalf("after the upgrade the unsent charges are %v, want %v", again, unsent)
	}

	// The upgraded service still has the charge to send, and sends it once the ledger is back.
	svc = startService(t, l, "--clock-file", clock.Path)
	svc.waitFor("the unsent charge", func(st localapi.Status) bool {
		s, ok := sessionOf(st, "revit")
		return ok && s.State == "paid" && st.Backlog > 0
	})
	led.Restart()
	svc.waitFor("the backlog sent", func(st localapi.Status) bool { return st.Backlog == 0 })
	if got := led.Charges("studio"); len(got) != 1 || !strings.HasSuffix(got[0], " 10") || !strings.Contains(got[0], "revit") {
		t.Errorf("the ledger debited %v, want the one revit charge of 10", got)
	}

	// IT pushes a drop-in adding a product; the installed folders let the agent take it.
	write(t, filepath.Join(l.dropins, "20-acad.yaml"), fmt.Sprintf("products:\n  - {id: autocad, name: AutoCAD, match: {path: [%q]}}\n", acad), 0o644)
	svc.waitFor("the push read", func(st localapi.Status) bool { return len(st.Config.Files) == 2 && st.Config.Err == "" })
	launchAsNobody(t, acad)
	svc.waitFor("the pushed product metered", func(st localapi.Status) bool { _, ok := sessionOf(st, "autocad"); return ok })
	svc.stop()
	if _, unsent := outbox(t, l); len(unsent) != 0 {
		t.Errorf("got unsent charges %v after the sync, want none", unsent)
	}

	// Uninstall keeps config and state; uninstalling again says it is not installed.
	out = mustTollgate(t, b.v2, "uninstall", "--root", root)
	if !strings.Contains(out, "removed the tollgate service") || !strings.Contains(out, "kept "+l.state) {
		t.Errorf("uninstall said:\n%s", out)
	}
	for _, gone := range []string{l.unit, l.desktop} {
		if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after uninstall: %v, want it gone", gone, err)
		}
	}
	for _, kept := range []string{l.config, filepath.Join(l.state, "journal.db"), filepath.Join(l.logs, "agent.log")} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("uninstall removed %s: %v", kept, err)
		}
	}
	if _, errOut, code := tollgate(t, b.v2, "uninstall", "--root", root); code != 1 || !strings.Contains(errOut, "not installed") {
		t.Errorf("second uninstall: exit %d, %q; want 1, not installed", code, errOut)
	}

	// Purge removes what was kept, and nothing of tollgate's is left.
	out = mustTollgate(t, b.v2, "uninstall", "--root", root, "--purge")
	if !strings.Contains(out, "purged "+l.state) {
		t.Errorf("purge said:\n%s", out)
	}
	if err := os.RemoveAll(filepath.Join(root, "opt")); err != nil { // the test's own products
		t.Fatal(err)
	}
	checkNothingLeft(t, root)
}

// checkNothingLeft walks root: only empty standard folders (etc, var/lib, ...) that the
// install made as parents may remain; no file, nothing named for tollgate.
func checkNothingLeft(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if !d.IsDir() || strings.Contains(d.Name(), "tollgate") {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
}

// TestDefaultConfig: a first install without --config writes the documented default, which
// the agent refuses to run on until IT names a ledger, exiting non-zero so that the service
// manager tries again; a later install keeps the config in place.
func TestDefaultConfig(t *testing.T) {
	b := bins(t)
	root := newRoot(t)
	l := layoutOf(root)
	out := mustTollgate(t, b.v1, "install", "--root", root)
	for _, want := range []string{"config: wrote the default config", "warning: the config does not load yet", "ledger.url", "drop-ins: push them into " + l.dropins} {
		if !strings.Contains(out, want) {
			t.Errorf("install said:\n%s\nwant it to say %q", out, want)
		}
	}
	def, err := os.ReadFile(l.config)
	if err != nil {
		t.Fatal(err)
	}
	keys := unitKeys(t, l.unit)
	argv := splitExecStart(t, keys["ExecStart"][0])
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir, c.Env = "/", []string{"PATH=/usr/bin:/bin"}
	got, err := c.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(got), "ledger.url") {
		t.Errorf("the service on the default config: %v\n%s\nwant a non-zero exit naming ledger.url", err, got)
	}

	// A push names the ledger; a reinstall keeps the config and its drop-ins.
	write(t, filepath.Join(l.dropins, "10-site.yaml"), "ledger: {url: \"https://ledger.studio.example\"}\n", 0o644)
	out = mustTollgate(t, b.v1, "install", "--root", root)
	if !strings.Contains(out, "upgraded in place") || !strings.Contains(out, "kept the config in place") || strings.Contains(out, "warning") {
		t.Errorf("reinstall said:\n%s\nwant an upgrade that kept a config that now loads", out)
	}
	if now, _ := os.ReadFile(l.config); !bytes.Equal(now, def) {
		t.Error("the reinstall changed the config in place")
	}
}

func TestRefusals(t *testing.T) {
	b := bins(t)
	foreign := newRoot(t)
	write(t, layoutOf(foreign).unit, "[Service]\nExecStart=/usr/bin/something-else\n", 0o644)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	write(t, bad, "ledger: {url: \"https://l.example\"}\nproducts:\n  - {id: revit, colour: red}\n", 0o644)
	writable := filepath.Join(newRoot(t), "tollgate")
	copyFile(t, b.v1, writable)
	if err := os.Chmod(writable, 0o777); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		uid      int // -1: root
		bin      string
		args     []string
		root     string // a fresh root if empty
		wantCode int
		wantErr  string
	}{
		{name: "not an administrator", uid: nobody, bin: b.v1, args: []string{"install"}, wantCode: 1,
			wantErr: "needs an administrator: this runs as uid 65534; run it as root"},
		{name: "uninstall, not installed", uid: -1, bin: b.v1, args: []string{"uninstall"}, wantCode: 1, wantErr: "tollgate is not installed as a service"},
		{name: "start under a root", uid: -1, bin: b.v1, args: []string{"start"}, wantCode: 1, wantErr: "has no service manager: run its command line yourself: " + b.v1 + " run --service"},
		{name: "stop under a root", uid: -1, bin: b.v1, args: []string{"stop"}, wantCode: 1, wantErr: "has no service manager"},
		{name: "restart under a root", uid: -1, bin: b.v1, args: []string{"restart"}, wantCode: 1, wantErr: "has no service manager"},
		{name: "someone else's tollgate service", uid: -1, bin: b.v1, args: []string{"install"}, root: foreign, wantCode: 1,
			wantErr: "a service named tollgate is already installed, but not by tollgate install (" + layoutOf(foreign).unit + "): remove it first"},
		{name: "uninstalling someone else's", uid: -1, bin: b.v1, args: []string{"uninstall", "--purge"}, root: foreign, wantCode: 1, wantErr: "leaving it alone"},
		{name: "a config that does not load", uid: -1, bin: b.v1, args: []string{"install", "--config", bad}, wantCode: 1,
			wantErr: "does not load (the install changed nothing)"},
		{name: "a binary others can replace", uid: -1, bin: writable, args: []string{"install"}, wantCode: 1, wantErr: "is writable by group or others (mode 0777)"},
		{name: "an argument", uid: -1, bin: b.v1, args: []string{"install", "now"}, wantCode: 2, wantErr: "install takes no arguments, only flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.root
			if root == "" {
				root = newRoot(t)
			}
			out, errOut, code := runAs(t, tt.uid, tt.bin, append(tt.args, "--root", root)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("got exit %d, stderr %q (stdout %q); want %d and %q", code, errOut, out, tt.wantCode, tt.wantErr)
			}
			if tt.root == "" {
				if _, err := os.Stat(layoutOf(root).unit); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("a refused install left a unit: %v", err)
				}
			}
		})
	}
	if got, _ := os.ReadFile(layoutOf(foreign).unit); !strings.Contains(string(got), "something-else") {
		t.Errorf("someone else's unit was changed:\n%s", got)
	}
}

// TestDryRun prints the real install's plan, needs no administrator, and writes nothing.
func TestDryRun(t *testing.T) {
	b := bins(t)
	root := newRoot(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"install", "--dry-run"}, []string{"tollgate install for linux", "/etc/systemd/system/tollgate.service", "0700 root:root",
			"ExecStart=" + b.v1 + " run --service --config /etc/tollgate/tollgate.yaml", "systemctl start tollgate.service", "Exec=" + b.v1 + " notifier"}},
		{[]string{"install", "--dry-run", "--root", root}, []string{root + "/etc/systemd/system/tollgate.service", "no service manager is called (--root)"}},
		{[]string{"uninstall", "--dry-run", "--purge"}, []string{"would stop and remove the service tollgate (/etc/systemd/system/tollgate.service)",
			"/etc/xdg/autostart/tollgate-notifier.desktop", "then remove, with everything in them", "/var/lib/tollgate"}},
		{[]string{"stop", "--dry-run"}, []string{"would ask the service manager to stop the service tollgate on linux"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runAs(t, nobody, b.v1, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("got:\n%s\nwant it to contain %q", out, want)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("a dry run wrote into the root: %v", entries)
	}
}
