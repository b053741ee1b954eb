package platform

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// procBuildHelper builds testdata/prochelper once under each of names, in a fresh directory,
// and returns the programs' paths by name.
func procBuildHelper(t testing.TB, names ...string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("finding the go tool: %v", err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	built := filepath.Join(dir, "prochelper")
	if out, err := exec.Command(goTool, "build", "-o", built, "./testdata/prochelper").CombinedOutput(); err != nil {
		t.Fatalf("building the helper: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	paths := make(map[string]string, len(names))
	for _, name := range names {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// procChild is a running helper.
type procChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	done   bool
}

// procStart starts path with args and waits until it is ready; the test's cleanup ends it.
func procStart(t testing.TB, path string, args ...string) *procChild {
	t.Helper()
	c := &procChild{cmd: exec.Command(path, args...)}
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Cleanup(func() {
		if !c.done {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	c.ready(t)
	return c
}

// ready waits for the child's next "ready" line.
func (c *procChild) ready(t testing.TB) {
	t.Helper()
	line, err := c.stdout.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("waiting for %s to be ready: got %q, %v", c.cmd.Path, line, err)
	}
}

func (c *procChild) pid() int32 { return int32(c.cmd.Process.Pid) }

// end closes the child's stdin, which makes it exit, and reaps it.
func (c *procChild) end(t testing.TB) {
	t.Helper()
	c.stdin.Close()
	c.wait(t)
}

// wait reaps the child, however it ended.
func (c *procChild) wait(t testing.TB) *os.ProcessState {
	t.Helper()
	c.cmd.Wait()
	c.done = true
	return c.cmd.ProcessState
}

// procFind returns the started process with pid in diffs.
func procFind(d Diff, pid int32) (Process, bool) {
	i := slices.IndexFunc(d.Started, func(p Process) bool { return p.Key.PID == pid })
	if i < 0 {
		return Process{}, false
	}
	return d.Started[i], true
}

// procOf keeps of d only what concerns pids: other tests on the machine may run programs
// with the same names.
func procOf(d Diff, pids ...int32) Diff {
	var out Diff
	for _, p := range d.Started {
		if slices.Contains(pids, p.Key.PID) {
			out.Started = append(out.Started, p)
		}
	}
	for _, k := range d.Exited {
		if slices.Contains(pids, k.PID) {
			out.Exited = append(out.Exited, k)
		}
	}
	return out
}

// procOnly is a filter accepting the given names only, so the diffs of a test hold only its
// children and not what else the machine runs.
func procOnly(names ...string) func(string) bool {
	return func(name string) bool {
		return name != "" && slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, name) })
	}
}
