//go:build linux

package e2e

import (
	"bufio"
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
	"tollgate/ledger/store/storetest"
)

// upProc is a running `tollgate up`, its output collected line by line.
type upProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan error
}

func startUp(t *testing.T, args ...string) *upProc {
	t.Helper()
	u := &upProc{t: t, cmd: exec.Command(bins.Tollgate, append([]string{"up"}, args...)...), done: make(chan error, 1)}
	out, err := u.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	u.cmd.Stderr = u.cmd.Stdout
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			u.mu.Lock()
			u.lines = append(u.lines, sc.Text())
			u.mu.Unlock()
		}
		u.done <- u.cmd.Wait()
	}()
	t.Cleanup(func() {
		if u.cmd.ProcessState == nil {
			u.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("tollgate up printed:\n%s", u.text())
		}
	})
	return u
}

func (u *upProc) text() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.lines, "\n")
}

// await waits for a line matching re and returns its submatches.
func (u *upProc) await(re string) []string {
	u.t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := r.FindStringSubmatch(u.text()); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	u.t.Fatalf("tollgate up never printed %q", re)
	return nil
}

func (u *upProc) stop() {
	u.t.Helper()
	u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-u.done:
		if err != nil {
			u.t.Errorf("tollgate up exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		u.t.Fatal("tollgate up did not stop within 15s of SIGTERM")
	}
}

// TestUp runs the README's first command for real: a ledger and an agent in one
// process, a product launched and charged, the balance shown, and a second run that
// keeps what the first made.
func TestUp(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		data := t.TempDir()
		os.Chmod(data, 0o700)
		clock := agenttest.NewClock(t, t.TempDir())
		bin := filepath.Join(t.TempDir(), "revit")
		data0, err := os.ReadFile(bins.Product)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(bin, data0, 0o755)
		// The catalogue's rules are kept across runs; this one matches the test's product by path.
		os.WriteFile(filepath.Join(data, "tollgate.yaml"), []byte(`admin_contact: "Studio IT"
identity: {template: "{user}@local"}
products:
  - {id: revit, name: Autodesk Revit, match: {path: ["`+bin+`"]}}
policy: {poll_interval: 50ms}
`), 0o600)
		args := []string{"--data", data, "--listen", "127.0.0.1:0", "--clock-file", clock.Path}
		if kind == "postgres" {
			args = append(args, "--db", storetest.URL(t, "postgres"))
		}
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(data, "tollgate.log"))
				t.Logf("tollgate.log:\n%s", b)
			}
		})
		u := startUp(t, args...)
		admin := u.await(`admin token\s+(\S+)`)[1]
		u.await(`ledger\s+http://127\.0\.0\.1:\d+ \(` + kind)
		u.await(`balance\s+200 tokens available`)
		u.await(`Watching launches`)

		p := exec.Command(bin)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.Process.Kill()
		u.await(`Autodesk Revit started: Closing Autodesk Revit within 5 minutes costs nothing`)
		clock.Set(t, day1.Add(5*time.Minute))
		u.await(`Autodesk Revit: 10 tokens charged`)
		u.await(`team studio: 190 tokens available`)
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
		u.stop()

		again := startUp(t, args...)
		if got := again.await(`admin token\s+(\S+)`)[1]; got != admin {
			t.Errorf("got admin token %s on the second run, want the first's %s", got, admin)
		}
		again.await(`balance\s+190 tokens available`)
		again.stop()
	})
}
