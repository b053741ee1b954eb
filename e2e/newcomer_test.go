//go:build linux

package e2e

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
)

// TestNewcomer does what the README's reader does: a fresh clone, `go run . up` in one
// terminal, and in others the commands up printed, verbatim, as root and as a second
// person on the machine, whose launch is refused and who is told why; then Ctrl-C.
func TestNewcomer(t *testing.T) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("the test runs in a git checkout: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "tollgate")
	if out, err := exec.Command("git", "clone", "-q", strings.TrimSpace(string(top)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	home := t.TempDir()
	up := exec.Command("go", "run", ".", "up", "--listen", "127.0.0.1:0")
	up.Dir = clone
	// A home of its own keeps the reader's data folder out of it; Go's caches stay where they are.
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	ge := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	up.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GOCACHE="+ge[0], "GOMODCACHE="+ge[1], "GOPATH="+ge[2], "GOFLAGS=-mod=mod")
	up.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, as a terminal's job
	out, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	up.Stderr = up.Stdout
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
		done <- up.Wait()
	}()
	text := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(lines, "\n") }
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			syscall.Kill(-up.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("go run . up printed:\n%s", text())
		}
	})
	await := func(re string, within time.Duration) []string {
		t.Helper()
		r := regexp.MustCompile(re)
		for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if m := r.FindStringSubmatch(text()); m != nil {
				return m
			}
		}
		t.Fatalf("up never printed %q", re)
		return nil
	}
	await(`Watching launches; Ctrl-C stops\.`, 5*time.Minute) // the first go run compiles
	try := await(`Try, in another terminal:\n  (.+ status)\n  (.+ check revit)\n  (.+ ledger report tokens --team studio)\n`, time.Second)

	newcomer := agenttest.OSUser(t, "tgnewcomer")
	uid, _ := strconv.Atoi(newcomer.Uid)
	gid, _ := strconv.Atoi(newcomer.Gid)
	asUser := func(line string) (string, int) {
		c := exec.Command("sh", "-c", line)
		c.Dir = "/"
		c.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return exitOf(t, c)
	}
	asRoot := func(line string) (string, int) {
		c := exec.Command("sh", "-c", line)
		c.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
		return exitOf(t, c)
	}

	// The newcomer's notifier, started as they would from their session, before they launch.
	cli := strings.TrimSuffix(try[1], " status")
	notes := exec.Command("sh", "-c", "exec "+cli+" notifier --print") // exec: killing it kills the notifier
	notes.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	notesOut, err := notes.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := notes.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { notes.Process.Kill(); notes.Wait() }()
	noted := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(notesOut)
		for sc.Scan() {
			noted <- sc.Text()
		}
	}()

	tests := []struct {
		who      string
		run      func(string) (string, int)
		line     string
		want     string
		wantCode int
	}{
		{"root", asRoot, try[1], `user\s+root@local \(administrator\)`, 0},
		{"root", asRoot, try[2], `Autodesk Revit: allowed`, 0},
		{"root", asRoot, try[3], `(?i)revit|tokens`, 0},
		{"newcomer", asUser, try[1], `user\s+tgnewcomer@local`, 0},
		{"newcomer", asUser, try[2], `Autodesk Revit: denied \(not_assigned\)`, 3},
	}
	for _, tt := range tests {
		got, code := tt.run(tt.line)
		if !regexp.MustCompile(tt.want).MatchString(got) || code != tt.wantCode {
			t.Errorf("%s ran %q: got exit %d\n%s\nwant exit %d and %s", tt.who, tt.line, code, got, tt.wantCode, tt.want)
		}
	}

	// The newcomer starts a program named like a product: refused, closed, and told why.
	pub, err := os.MkdirTemp("", "tollgate-newcomer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	os.Chmod(pub, 0o755) // the newcomer's own program, where they may run it
	bin := filepath.Join(pub, "Revit")
	b, err := os.ReadFile(bins.Product)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	p := exec.Command(bin)
	p.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		p.Process.Kill()
		t.Errorf("the newcomer's Revit still ran 20s after it started, want it closed")
	}
	deadline := time.After(20 * time.Second)
	for seen := false; !seen; {
		select {
		case l := <-noted:
			seen = strings.Contains(l, "Autodesk Revit") && strings.Contains(l, "not")
		case <-deadline:
			t.Fatal("the newcomer's notifier showed no refusal within 20s")
		}
	}
	await(`tgnewcomer@local\s+Autodesk Revit`, 10*time.Second)

	// Ctrl-C, as the terminal sends it to the job.
	syscall.Kill(-up.Process.Pid, syscall.SIGINT)
	select {
	case <-done:
		// go run itself exits 1 when it is interrupted, whatever up returned; up's own
		// clean stop is its last line.
		stopped = true
	case <-time.After(20 * time.Second):
		t.Fatal("up did not stop within 20s of Ctrl-C")
	}
	await(`Stopped\. Everything is kept in `, time.Second)
}

func exitOf(t *testing.T, c *exec.Cmd) (string, int) {
	t.Helper()
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestUpOnABusyPort: an up that cannot serve says what to do and leaves no data folder
// behind for the next try to trip on.
func TestUpOnABusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "tollgate")
	out, err := exec.Command(bins.Tollgate, "up", "--data", data, "--listen", ln.Addr().String(), "--socket", filepath.Join(t.TempDir(), "s.sock")).CombinedOutput()
	if err == nil {
		t.Fatalf("up on a busy port: got exit 0, want an error\n%s", out)
	}
	if !strings.Contains(string(out), "--listen") {
		t.Errorf("got %q, want it to say how to choose another address (--listen)", out)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got data folder %s left behind (%v), want none", data, err)
	}
}
