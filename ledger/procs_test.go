package ledger_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"tollgate/ledger"
)

// tollgateBin is the tollgate binary, built once in TestMain, for the tests that run
// several ledgers as real `tollgate ledger serve` processes.
var tollgateBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// A fuzzing worker runs only a fuzz target, which needs no binary; building one in
	// every worker would use up a short -fuzztime before the first input.
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzzworker") {
			return m.Run()
		}
	}
	dir, err := os.MkdirTemp("", "tollgate-ledger-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tollgateBin = filepath.Join(dir, "tollgate")
	if runtime.GOOS == "windows" {
		tollgateBin += ".exe"
	}
	args := []string{"build", "-o", tollgateBin}
	// Under -race the servers are built with the detector too: a race inside them is
	// what the multi-process tests are most likely to provoke.
	if raceEnabled() {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, "tollgate")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go %s tollgate: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// Bounds on a ledger process that never arrive when it works: generous, for a loaded
// machine and binaries built with -race.
const (
	procStartBound = 2 * time.Minute
	procStopBound  = 30 * time.Second
)

// ledgerProc is one running `tollgate ledger serve`.
type ledgerProc struct {
	url    string // http://127.0.0.1:PORT
	data   string // its --data directory
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed when the process has ended; err is then its Wait error
	err    error
	killed bool // by interrupt, where there is no interrupt to send
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startLedgers starts n `tollgate ledger serve` processes on the database at dbURL, each
// with its own data directory and a free port, all at once as replicas started together
// would be, and returns when every one answers /healthz. The test's cleanup stops them
// (interrupt, then kill) and fails the test when one ends badly or reports a data race;
// a failed test shows their stderr.
func startLedgers(t *testing.T, dbURL string, n int) []*ledgerProc {
	t.Helper()
	var ps []*ledgerProc
	t.Cleanup(func() {
		// All at once: a process built with -race lingers a second at exit.
		for _, p := range ps {
			p.interrupt()
		}
		for i, p := range ps {
			p.wait(t, i)
		}
		if t.Failed() {
			for i, p := range ps {
				t.Logf("ledger process %d (%s) stderr:\n%s", i, p.url, p.stderr)
			}
		}
	})
	for range n {
		p := &ledgerProc{
			data:   t.TempDir(),
			stdout: &syncBuffer{ch: make(chan struct{}, 1)},
			stderr: &syncBuffer{ch: make(chan struct{}, 1)},
			done:   make(chan struct{}),
		}
		p.cmd = exec.Command(tollgateBin, "ledger", "serve", "--db", dbURL, "--listen", "127.0.0.1:0", "--data", p.data)
		p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", tollgateBin, err)
		}
		// The process is this goroutine's to wait for; interrupt ends it.
		go func() {
			p.err = p.cmd.Wait()
			close(p.done)
		}()
		ps = append(ps, p)
	}
	deadline := time.After(procStartBound)
	for i, p := range ps {
		for !listening.MatchString(p.stdout.String()) {
			select {
			case <-p.stdout.ch:
			case <-p.done:
				t.Fatalf("ledger process %d ended before listening: %v\nstdout:\n%s\nstderr:\n%s", i, p.err, p.stdout, p.stderr)
			case <-deadline:
				t.Fatalf("ledger process %d: not listening after %v\nstdout:\n%s\nstderr:\n%s", i, procStartBound, p.stdout, p.stderr)
			}
		}
		p.url = listening.FindStringSubmatch(p.stdout.String())[1]
		// It listens only after its migrations and bootstrap; /healthz also asks the database.
		resp, err := http.Get(p.url + "/healthz")
		if err != nil {
			t.Fatalf("ledger process %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ledger process %d: /healthz answered %s", i, resp.Status)
		}
	}
	return ps
}

// interrupt asks the process to stop, as a service manager would. Windows has no
// interrupt to send: the process is killed there.
func (p *ledgerProc) interrupt() {
	if runtime.GOOS != "windows" && p.cmd.Process.Signal(os.Interrupt) == nil {
		return
	}
	p.killed = true
	p.cmd.Process.Kill()
}

// wait waits for the process that interrupt stopped, kills it if it does not end in
// time, and fails t if it ended badly: under -race a race makes its exit status 66.
func (p *ledgerProc) wait(t *testing.T, i int) {
	select {
	case <-p.done:
	case <-time.After(procStopBound):
		t.Errorf("ledger process %d: still running %v after the interrupt; killed", i, procStopBound)
		p.cmd.Process.Kill()
		<-p.done
		return
	}
	if !p.killed && p.err != nil {
		t.Errorf("ledger process %d: %v", i, p.err)
	}
	if strings.Contains(p.stderr.String(), "DATA RACE") {
		t.Errorf("ledger process %d reported a data race", i)
	}
}

// adminToken returns the super-admin token a process of ps created on first start. When
// they start together, one or more of them find no super-admin and write one.
func adminToken(t *testing.T, ps []*ledgerProc) string {
	t.Helper()
	for _, p := range ps {
		b, err := os.ReadFile(filepath.Join(p.data, ledger.TokenFile))
		if err == nil {
			return strings.TrimSpace(string(b))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	t.Fatalf("no process wrote %s in its data directory", ledger.TokenFile)
	return ""
}
