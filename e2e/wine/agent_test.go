//go:build linux && wine

package wine

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/ledger/ledgertest"
)

// bins are the programs the test runs: the Linux tollgate (the ledger and its admin CLI), the
// Windows tollgate.exe (the agent and its clients) and a Windows stand-in product, which waits
// to be closed.
var bins struct{ linux, exe, product string }

// TestMain takes the binaries from $TOLLGATE_WINE_BINS (tollgate, tollgate.exe, product.exe;
// scripts/test-windows builds them beside the other Windows binaries) or builds them.
func TestMain(m *testing.M) {
	flag.Parse()
	dir := os.Getenv("TOLLGATE_WINE_BINS")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tollgate-wine-bins")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(tmp)
		if err := build(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		dir = tmp
	}
	bins.linux, bins.exe, bins.product = filepath.Join(dir, "tollgate"), filepath.Join(dir, "tollgate.exe"), filepath.Join(dir, "product.exe")
	os.Exit(m.Run())
}

func build(dir string) error {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, b := range []struct{ out, pkg, goos string }{
		{"tollgate", "tollgate", "linux"}, {"tollgate.exe", "tollgate", "windows"}, {"product.exe", "tollgate/agent/testdata/product", "windows"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
			c.Env = append(os.Environ(), "GOOS="+b.goos, "GOARCH=amd64", "CGO_ENABLED=0")
			if out, err := c.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s for %s: %v\n%s", b.pkg, b.goos, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// workstation is a Windows machine under Wine: a folder holding its config, its state, the
// product's program, and the files every Windows program it ran wrote its output to.
type workstation struct {
	t     *testing.T
	dir   string
	pipe  string
	procs []*winProc
	runs  int
}

// winProc is a Windows program started under Wine; it writes to files, never to a pipe of the
// test's, so that nothing it leaves running (a product started by `tollgate launch`, the
// wineserver that the first wine of a prefix starts) can hold a read of the test open.
type winProc struct {
	cmd    *exec.Cmd
	stdout string
	stderr string
	done   chan struct{}
	err    error // the exit, once done is closed
}

// winPath is path as Windows programs under Wine see it (drive Z: is /).
func winPath(path string) string { return `Z:` + strings.ReplaceAll(path, "/", `\`) }

func newWorkstation(t *testing.T) *workstation {
	t.Helper()
	if _, err := exec.LookPath("wine"); err != nil || os.Getenv("WINEPREFIX") == "" {
		t.Fatalf("this test runs Windows programs under Wine 8: run sh shared/tools/wine-setup.sh and export the WINEPREFIX it prints (scripts/test-windows does both); wine on PATH: %v, WINEPREFIX=%q", err, os.Getenv("WINEPREFIX"))
	}
	w := &workstation{t: t, dir: t.TempDir(), pipe: fmt.Sprintf(`\\.\pipe\tollgate-wine-%d`, time.Now().UnixNano())}
	for _, d := range []string{"conf.d", "state", "out"} {
		if err := os.Mkdir(filepath.Join(w.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(w.cleanup)
	return w
}

// start starts a Windows program (a path to an .exe, with its arguments) under Wine.
func (w *workstation) start(label string, args ...string) *winProc {
	w.t.Helper()
	w.runs++
	base := filepath.Join(w.dir, "out", fmt.Sprintf("%02d-%s", w.runs, label))
	p := &winProc{stdout: base + ".out", stderr: base + ".err", done: make(chan struct{})}
	stdout, err := os.Create(p.stdout)
	if err != nil {
		w.t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(p.stderr)
	if err != nil {
		w.t.Fatal(err)
	}
	defer stderr.Close()
	p.cmd = exec.Command("wine", args...)
	p.cmd.Dir = w.dir
	p.cmd.Env = append(os.Environ(), "WINEDEBUG=-all")
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	if err := p.cmd.Start(); err != nil {
		w.t.Fatalf("wine %s: %v", strings.Join(args, " "), err)
	}
	w.procs = append(w.procs, p)
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p
}

func (p *winProc) output() (stdout, stderr string) {
	o, _ := os.ReadFile(p.stdout)
	e, _ := os.ReadFile(p.stderr)
	return strings.ReplaceAll(string(o), "\r", ""), strings.ReplaceAll(string(e), "\r", "")
}

func (p *winProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tollgate runs `tollgate.exe ARGS` to its end, within a minute, and returns what it printed
// and its exit code.
func (w *workstation) tollgate(args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	p := w.start(args[0], append([]string{bins.exe}, args...)...)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		stdout, stderr := p.output()
		w.t.Fatalf("tollgate.exe %s did not end within a minute; it printed %q, %q", strings.Join(args, " "), stdout, stderr)
	}
	stdout, stderr = p.output()
	return stdout, stderr, p.cmd.ProcessState.ExitCode()
}

// cleanup ends every program the test started under Wine, and then any Windows program one of
// them started (`tollgate launch` starts the product and leaves it): Wine runs each Windows
// process as a Unix process whose command line is its Windows one, which names this folder.
func (w *workstation) cleanup() {
	for _, p := range w.procs {
		if !p.exited() {
			p.cmd.Process.Kill()
		}
	}
	for _, p := range w.procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			w.t.Errorf("wine %s did not end within 10s of SIGKILL", strings.Join(p.cmd.Args[1:], " "))
		}
	}
	marks := []string{strings.ToLower(winPath(w.dir)), w.dir}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left := w.leftovers(marks)
		if len(left) == 0 {
			return
		}
		if time.Now().After(end) {
			w.t.Errorf("Windows programs of this test still run 10s after SIGKILL: %v", left)
			return
		}
		for pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// leftovers are the processes whose command line names one of marks.
func (w *workstation) leftovers(marks []string) map[int]string {
	left := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		for _, m := range marks {
			if strings.Contains(strings.ToLower(cmdline), strings.ToLower(m)) {
				left[pid] = cmdline
			}
		}
	}
	return left
}

// waitFor checks cond every 100ms until it returns "" or d passes; then the test fails with
// cond's last complaint and the agent's log. A Windows program the wait depends on that ends
// early fails it at once.
func (w *workstation) waitFor(what string, d time.Duration, agent *winProc, cond func() string) {
	w.t.Helper()
	var last string
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if last = cond(); last == "" {
			return
		}
		if agent != nil && agent.exited() {
			_, log := agent.output()
			w.t.Fatalf("the agent ended (%v) while waiting for %s; its log:\n%s", agent.err, what, log)
		}
		if time.Now().After(end) {
			break
		}
	}
	var log string
	if agent != nil {
		_, log = agent.output()
	}
	w.t.Fatalf("after %v waiting for %s: %s\nthe agent's log:\n%s", d, what, last, log)
}

// decided matches the agent's log line for an allowed launch of product.
func decided(product string) *regexp.Regexp {
	return regexp.MustCompile(`launch decided\s+\{"user": "root@studio.example", "product": "` + product + `", "pid": \d+, "allowed": true`)
}

var (
	syncedAll = regexp.MustCompile(`(?m)^sync backlog\s+0$`)
	ledgerUp  = regexp.MustCompile(`(?m)^ledger\s+http://\S+ \(online\)$`)
	paidRevit = regexp.MustCompile(`(?m)^\s+root@studio.example\s+revit\s+paid\s`)
)

// TestAgentUnderWine runs the Windows agent, `tollgate.exe run`, under Wine as a workstation of a
// Linux `tollgate ledger serve` on loopback: it enrolls; a started Revit.exe, matched by its exe
// name, is decided, charged after the grace on the test clock and synced, as the ledger's own
// API shows; status, check, launch and reload from tollgate.exe clients over the named pipe,
// while the notifier holds the agent's event stream open on another connection; then a
// drop-in pushed into conf.d adds Rhino.exe, and a started Rhino.exe is decided; with the team's
// tokens restricted on the ledger, a pushed AutoCAD's acad.exe is denied, closed and shown.
func TestAgentUnderWine(t *testing.T) {
	w := newWorkstation(t)
	began := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	clock := agenttest.NewClock(t, t.TempDir())
	l := ledgertest.Start(t, bins.linux, "", clock.Path)
	const user = "root@studio.example" // Wine's account is the Unix user's
	agenttest.Write(t, filepath.Join(w.dir, "enroll.token"), l.Studio(200, user))
	agenttest.Write(t, filepath.Join(w.dir, "tollgate.yaml"), fmt.Sprintf(`admin_contact: "Studio IT, it@studio.example, ext. 200"
ledger:
  url: %s
  enrollment_token_file: enroll.token
identity:
  template: "{user}@studio.example"
products:
  - id: revit
    name: Autodesk Revit
    match:
      exe: [Revit.exe]
policy:
  poll_interval: 100ms
`, l.URL))
	revit, rhino, acad := filepath.Join(w.dir, "Revit.exe"), filepath.Join(w.dir, "Rhino.exe"), filepath.Join(w.dir, "acad.exe")
	for _, exe := range []string{revit, rhino, acad} {
		b, err := os.ReadFile(bins.product)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	step("ledger up, workstation written")
	agent := w.start("agent", bins.exe, "run", "--config", winPath(filepath.Join(w.dir, "tollgate.yaml")),
		"--state", winPath(filepath.Join(w.dir, "state")), "--socket", w.pipe, "--clock-file", winPath(clock.Path), "--sync-retry-max=1s")
	agentLog := func() string { _, log := agent.output(); return log }
	w.waitFor("the agent to enroll with the ledger", 90*time.Second, agent, func() string {
		if !strings.Contains(agentLog(), "enrolled with the ledger") {
			return "no \"enrolled with the ledger\" in its log"
		}
		return ""
	})

	step("agent enrolled")
	// Wine's first instance of a pipe takes one client that nobody serves: the first call must
	// answer or fail clearly within the client's timeout (10s), and every other connection,
	// made meanwhile or after, be served.
	first := w.start("status-first", bins.exe, "status", "--socket", w.pipe)
	// The notifier's event stream stays open on its own connection from here on.
	notifier := w.start("notifier", bins.exe, "notifier", "--print", "--socket", w.pipe)
	w.waitFor("the notifier to connect", 60*time.Second, agent, func() string {
		if _, e := notifier.output(); !strings.Contains(e, "connected to the agent") {
			return fmt.Sprintf("the notifier printed %q", e)
		}
		return ""
	})

	step("notifier connected")
	w.start("revit", revit)
	w.waitFor("Revit.exe's launch to be decided", 30*time.Second, agent, func() string {
		if !decided("revit").MatchString(agentLog()) {
			return "no allowed launch of revit in the agent's log"
		}
		return ""
	})
	w.waitFor("the notifier to show Revit's start", 30*time.Second, agent, func() string {
		if o, _ := notifier.output(); !strings.Contains(o, "Autodesk Revit started: ") {
			return fmt.Sprintf("the notifier printed %q", o)
		}
		return ""
	})
	step("Revit.exe decided, shown")
	if !strings.Contains(agentLog(), `"reason": "grace"`) {
		t.Errorf("the agent's log shows no launch in the grace")
	}

	// Past the grace on the test clock: charged, synced, and on the ledger.
	clock.Set(t, clock.Now.Add(6*time.Minute))
	wantCharge := fmt.Sprintf("studio/%s/revit/%s 10", user, agenttest.Day1.Format(time.RFC3339))
	w.waitFor("the charge on the ledger", 60*time.Second, agent, func() string {
		if got := l.Charges("studio"); len(got) != 1 || got[0] != wantCharge {
			return fmt.Sprintf("the ledger's debits are %q, want [%q]", got, wantCharge)
		}
		return ""
	})
	step("charge on the ledger")
	select {
	case <-first.done:
		if stdout, stderr := first.output(); first.err != nil && !strings.Contains(stderr, "did not answer") {
			t.Errorf("first status: got %v, stdout %q, stderr %q, want an answer or a clear timeout", first.err, stdout, stderr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("the first status did not end within a minute; its client's timeout is 10s")
	}
	if got, want := l.Tokens("studio").Balance.Available, int64(190); got != want {
		t.Errorf("the ledger's balance for studio: got %d, want %d", got, want)
	}
	w.waitFor("status to show revit paid and nothing to sync", 60*time.Second, agent, func() string {
		stdout, stderr, code := w.tollgate("status", "--socket", w.pipe)
		if code != 0 || !paidRevit.MatchString(stdout) || !syncedAll.MatchString(stdout) || !ledgerUp.MatchString(stdout) {
			return fmt.Sprintf("got exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		return ""
	})

	step("status paid and synced")
	// Three more connections at once, while the notifier's stream is open.
	calls := []struct {
		args               []string
		wantOut, wantError string
		p                  *winProc
	}{
		{args: []string{"check", "--socket", w.pipe, "revit"}, wantOut: "Autodesk Revit: allowed"},
		{args: []string{"launch", "--socket", w.pipe, "revit", "--", winPath(revit)}, wantError: "Autodesk Revit: allowed"},
		{args: []string{"reload", "--socket", w.pipe}, wantOut: "configuration reloaded"},
	}
	for i, c := range calls {
		calls[i].p = w.start(c.args[0], append([]string{bins.exe}, c.args...)...)
	}
	for _, c := range calls {
		select {
		case <-c.p.done:
		case <-time.After(time.Minute):
			t.Fatalf("tollgate.exe %s did not end within a minute", strings.Join(c.args, " "))
		}
		stdout, stderr := c.p.output()
		if c.p.err != nil || !strings.Contains(stdout, c.wantOut) || !strings.Contains(stderr, c.wantError) {
			t.Errorf("tollgate.exe %s: got %v, stdout %q, stderr %q, want exit 0, %q on stdout and %q on stderr",
				strings.Join(c.args, " "), c.p.err, stdout, stderr, c.wantOut, c.wantError)
		}
	}
	w.waitFor("the launched Revit.exe to be decided", 30*time.Second, agent, func() string {
		if n := len(decided("revit").FindAllString(agentLog(), -1)); n != 2 {
			return fmt.Sprintf("%d allowed launches of revit in the agent's log, want 2", n)
		}
		return ""
	})

	step("check, launch, reload")
	// A drop-in pushed into conf.d the way deployment tools write (a whole file, renamed into
	// place) adds Rhino.exe to the catalogue; the agent takes it without a restart.
	agenttest.Write(t, filepath.Join(w.dir, "conf.d", "20-rhino.yaml"), "products:\n  - id: rhino\n    name: Rhino\n    match:\n      exe: [Rhino.exe]\n")
	w.waitFor("the pushed drop-in to be loaded", 30*time.Second, agent, func() string {
		if !strings.Contains(agentLog(), `20-rhino.yaml"], "products": 2}`) {
			return "no config loaded with 20-rhino.yaml and 2 products in the agent's log"
		}
		return ""
	})
	step("drop-in loaded")
	w.start("rhino", rhino)
	w.waitFor("Rhino.exe's launch to be decided", 30*time.Second, agent, func() string {
		if !decided("rhino").MatchString(agentLog()) {
			return "no allowed launch of rhino in the agent's log"
		}
		return ""
	})
	w.waitFor("the notifier to show Rhino's start", 30*time.Second, agent, func() string {
		if o, _ := notifier.output(); !strings.Contains(o, "Rhino started: ") {
			return fmt.Sprintf("the notifier printed %q", o)
		}
		return ""
	})
	if stdout, stderr, code := w.tollgate("check", "--socket", w.pipe, "rhino"); code != 0 || !strings.HasPrefix(stdout, "Rhino: allowed") {
		t.Errorf("check rhino after the push: got exit %d, stdout %q, stderr %q, want Rhino allowed", code, stdout, stderr)
	}

	step("Rhino.exe decided, shown, checked")
	// A product the team's tokens do not cover: the ledger restricted to Revit and Rhino, then
	// AutoCAD pushed into the catalogue; a started acad.exe is denied and closed by the agent,
	// and the notifier says why.
	l.CLI("restrict", "--team", "studio", "--products", "revit,rhino")
	agenttest.Write(t, filepath.Join(w.dir, "conf.d", "30-acad.yaml"), "products:\n  - id: autocad\n    name: AutoCAD\n    match:\n      exe: [acad.exe]\n")
	w.waitFor("the second drop-in to be loaded", 30*time.Second, agent, func() string {
		if !strings.Contains(agentLog(), `30-acad.yaml"], "products": 3}`) {
			return "no config loaded with 30-acad.yaml and 3 products in the agent's log"
		}
		return ""
	})
	acadProc := w.start("acad", acad)
	w.waitFor("the agent to close the denied acad.exe", 30*time.Second, agent, func() string {
		if !acadProc.exited() {
			return "acad.exe still runs"
		}
		return ""
	})
	w.waitFor("the notifier to show why", 30*time.Second, agent, func() string {
		if o, _ := notifier.output(); !strings.Contains(o, "AutoCAD was") {
			return fmt.Sprintf("the notifier printed %q", o)
		}
		return ""
	})
	if !regexp.MustCompile(`launch decided\s+\{"user": "root@studio.example", "product": "autocad", "pid": \d+, "allowed": false`).MatchString(agentLog()) {
		t.Errorf("the agent's log shows no denied launch of autocad")
	}
	if got := l.Charges("studio"); len(got) != 1 {
		t.Errorf("the ledger's debits after the denial: got %q, want only Revit's", got)
	}
	step("acad.exe denied, closed, shown")
	// One stream, one connection, all along.
	if notifier.exited() {
		t.Errorf("the notifier ended (%v) while its stream should be open", notifier.err)
	}
	if _, e := notifier.output(); strings.Count(e, "connected to the agent") != 1 {
		t.Errorf("the notifier's log:\n%s\nwant one connection to the agent, kept", e)
	}
	if t.Failed() {
		t.Logf("the agent's log:\n%s", agentLog())
	}
}
