package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"
)

// gateDeadline is a failsafe for waits on other processes, never a timing assertion: a wait
// that passes it means an exec was left blocked.
const gateDeadline = time.Minute

// gateProductSource is the product: its first act writes the marker named by its first
// argument, so a missing marker proves that not one instruction of main ran.
const gateProductSource = `package main

import (
	"os"
	"time"
)

func main() {
	if err := os.WriteFile(os.Args[1], nil, 0o644); err != nil {
		os.Exit(2)
	}
	d, _ := time.ParseDuration(os.Args[2])
	time.Sleep(d)
}
`

// gateLauncherSource starts a program, as a shell or a desktop would, count times: launcher
// EXE MARKER COUNT. It prints what it saw as a gateLaunch in JSON.
//
// The tests start programs on a watched mount from this launcher, never from their own
// process, which hosts the gate: Go starts a program with vfork, whose parent thread keeps its
// scheduler slot until the exec is answered, and whose child keeps a copy of the gate's
// descriptor until the exec completes. A garbage collection that starts meanwhile waits for
// that thread while the gate waits for the collection, and the child outlives even the death of
// the process, the kernel still waiting for an answer.
const gateLauncherSource = `package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	count, err := strconv.Atoi(os.Args[3])
	if err != nil {
		panic(err)
	}
	var l struct {
		Ran   bool
		PID   int
		Err   string
		EPERM bool
		NS    int64
	}
	start := time.Now()
	for range count {
		cmd := exec.Command(os.Args[1], os.Args[2], "0s")
		err := cmd.Start()
		l.EPERM = errors.Is(err, syscall.EPERM)
		if err == nil {
			l.PID = cmd.Process.Pid
			err = cmd.Wait()
		}
		if err != nil {
			l.Err = err.Error()
			break
		}
	}
	l.NS = time.Since(start).Nanoseconds()
	_, err = os.Stat(os.Args[2])
	l.Ran = err == nil
	if err := json.NewEncoder(os.Stdout).Encode(l); err != nil {
		panic(err)
	}
}
`

// gateBins are the programs the tests run, built off any mount the tests mark.
type gateBins struct {
	product  string
	launcher string
}

func gateBuild(tb testing.TB) gateBins {
	tb.Helper()
	src := tb.TempDir()
	files := map[string]string{
		"go.mod":           "module gatetest\n\ngo 1.26\n",
		"revit/main.go":    gateProductSource,
		"launcher/main.go": gateLauncherSource,
	}
	for name, text := range files {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	out := tb.TempDir()
	cmd := exec.Command("go", "build", "-o", out+"/", "./revit", "./launcher")
	cmd.Dir = src
	// Static, so an exec opens the program only, not also an ELF interpreter.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building the test programs: %v\n%s", err, msg)
	}
	return gateBins{product: filepath.Join(out, "revit"), launcher: filepath.Join(out, "launcher")}
}

// gateMount mounts a tmpfs for a test's programs and returns its path. The gate's mount marks
// then cover it alone, not the root filesystem from which every other process on this machine
// runs its programs.
func gateMount(tb testing.TB) string {
	tb.Helper()
	dir := gateRealTempDir(tb)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		tb.Fatalf("mounting a tmpfs on %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			tb.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// gateInstall copies the program at src to dst, making directories.
func gateInstall(tb testing.TB, src, dst string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

// gateLaunch is what the launcher saw when it ran a program.
type gateLaunch struct {
	Ran   bool   // the program's main ran: it wrote its marker
	PID   int    // the last process started; 0 if its exec failed
	Err   string // the first error starting or waiting, if any
	EPERM bool   // Err is EPERM from the exec
	NS    int64  // the time all runs took
}

// run has the launcher run exe to completion count times and reports what it saw.
func (b gateBins) run(tb testing.TB, exe string, count int) gateLaunch {
	tb.Helper()
	marker := filepath.Join(tb.TempDir(), "ran")
	out, err := exec.Command(b.launcher, exe, marker, strconv.Itoa(count)).Output()
	if err != nil {
		tb.Errorf("launcher: %v\n%s", err, out)
		return gateLaunch{}
	}
	var l gateLaunch
	if err := json.Unmarshal(out, &l); err != nil {
		tb.Errorf("launcher said %q: %v", out, err)
	}
	return l
}

// gateRecorder is a Decide that answers r.allow and records what it was asked.
type gateRecorder struct {
	allow bool
	mu    sync.Mutex
	reqs  []GateRequest
}

func (r *gateRecorder) decide(req GateRequest) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return r.allow
}

func (r *gateRecorder) asked() []GateRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// gateStart runs g until the test ends and checks that Run returns nil.
func gateStart(t *testing.T, g *Gate) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(gateDeadline):
			t.Errorf("Run did not return after cancel")
		}
	})
}

func TestGateDecides(t *testing.T) {
	bins := gateBuild(t)
	const (
		revit = "autodesk/revit/revit"
		other = "tools/other"
	)
	tests := []struct {
		name        string
		paths       []string // relative to the test's mount
		allow       bool     // Decide's answer
		run         string   // relative to the mount; "" runs the product where it was built
		installLate bool     // install run only once the gate is up
		wantRan     bool
		wantAsked   bool // whether Decide was asked about run
	}{
		{name: "directory, denied", paths: []string{"autodesk"}, run: revit, wantAsked: true},
		{name: "directory, allowed", paths: []string{"autodesk"}, allow: true, run: revit, wantRan: true, wantAsked: true},
		{name: "exact file, denied", paths: []string{revit}, run: revit, wantAsked: true},
		{name: "exact file, allowed", paths: []string{revit}, allow: true, run: revit, wantRan: true, wantAsked: true},
		{name: "exact file, sibling runs unasked", paths: []string{revit}, run: "autodesk/revit/helper", wantRan: true},
		{name: "glob on the file, denied", paths: []string{"auto*/rev*/revit"}, run: revit, wantAsked: true},
		{name: "glob on a directory, denied", paths: []string{"autodesk/rev*"}, run: revit, wantAsked: true},
		{name: "symlinked directory, denied", paths: []string{"ad"}, run: revit, wantAsked: true},
		{name: "installed after the gate started, denied", paths: []string{"autodesk/revit"}, run: revit, installLate: true, wantAsked: true},
		{name: "unrelated program on the watched mount runs unasked", paths: []string{"autodesk"}, run: other, wantRan: true},
		{name: "unrelated program off the watched mounts runs unasked", paths: []string{"autodesk"}, run: "", wantRan: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mnt := gateMount(t)
			if err := os.Symlink("autodesk", filepath.Join(mnt, "ad")); err != nil {
				t.Fatal(err)
			}
			exe := bins.product
			if tt.run != "" {
				exe = filepath.Join(mnt, tt.run)
			}
			if !tt.installLate {
				for _, p := range []string{revit, "autodesk/revit/helper", other} {
					gateInstall(t, bins.product, filepath.Join(mnt, p))
				}
			}
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(mnt, p))
			}
			rec := &gateRecorder{allow: tt.allow}
			g, err := NewGate(GateOptions{Paths: paths, Decide: rec.decide, Logger: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			gateStart(t, g)
			if tt.installLate {
				gateInstall(t, bins.product, exe)
			}

			l := bins.run(t, exe, 1)
			if l.Ran != tt.wantRan {
				t.Errorf("ran = %v, want %v (exec error %q)", l.Ran, tt.wantRan, l.Err)
			}
			switch {
			case tt.wantRan && l.Err != "":
				t.Errorf("exec error = %q, want none", l.Err)
			case !tt.wantRan && !l.EPERM:
				t.Errorf("exec error = %q, want EPERM", l.Err)
			}
			var wantAsked []GateRequest
			if tt.wantAsked {
				wantAsked = []GateRequest{{PID: int32(l.PID), Exe: exe}}
			}
			got := rec.asked()
			for i := range got {
				if l.PID == 0 && got[i].PID > 0 {
					got[i].PID = 0 // a refused exec leaves no process to compare with
				}
			}
			if !slices.Equal(got, wantAsked) {
				t.Errorf("Decide asked %+v, want %+v", got, wantAsked)
			}
		})
	}
}

func TestGateTimeoutAllows(t *testing.T) {
	bins := gateBuild(t)
	mnt := gateMount(t)
	exe := filepath.Join(mnt, "autodesk/revit/revit")
	gateInstall(t, bins.product, exe)

	release := make(chan struct{})
	core, logs := observer.New(zap.ErrorLevel)
	g, err := NewGate(GateOptions{
		Paths:   []string{filepath.Join(mnt, "autodesk")},
		Decide:  func(GateRequest) bool { <-release; return false },
		Timeout: 20 * time.Millisecond,
		Logger:  zap.New(core),
	})
	if err != nil {
		t.Fatal(err)
	}
	gateStart(t, g)
	t.Cleanup(func() { close(release) }) // before Run's cleanup, which waits for Decide

	done := make(chan gateLaunch, 1)
	go func() { done <- bins.run(t, exe, 1) }()
	select {
	case l := <-done:
		if !l.Ran || l.Err != "" {
			t.Errorf("ran = %v, exec error %q; want it allowed after the timeout", l.Ran, l.Err)
		}
	case <-time.After(gateDeadline):
		t.Fatal("exec still blocked on a stuck Decide")
	}
	if got := logs.FilterMessage("decision timed out; launch allowed (fail open)").Len(); got != 1 {
		t.Errorf("timeout logged %d times, want 1", got)
	}
}

func TestGateShutdownReleasesExecs(t *testing.T) {
	bins := gateBuild(t)
	mnt := gateMount(t)
	exe := filepath.Join(mnt, "autodesk/revit/revit")
	gateInstall(t, bins.product, exe)
	fdsBefore := gateFanotifyFDs(t)

	const execs = gateWorkers + 3 // every worker busy and some execs queued behind them
	entered := make(chan struct{}, execs)
	release := make(chan struct{})
	g, err := NewGate(GateOptions{
		Paths:   []string{filepath.Join(mnt, "autodesk")},
		Decide:  func(GateRequest) bool { entered <- struct{}{}; <-release; return false },
		Timeout: time.Hour,
		Logger:  zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- g.Run(ctx) }()

	done := make(chan gateLaunch, execs)
	for range execs {
		go func() { done <- bins.run(t, exe, 1) }()
	}
	for range gateWorkers {
		select {
		case <-entered:
		case <-time.After(gateDeadline):
			t.Fatal("Decide was not called for every worker")
		}
	}

	cancel()
	for range execs {
		select {
		case l := <-done:
			if !l.Ran || l.Err != "" {
				t.Errorf("ran = %v, exec error %q; want every pending exec allowed on shutdown", l.Ran, l.Err)
			}
		case <-time.After(gateDeadline):
			t.Fatal("an exec stayed blocked after shutdown")
		}
	}
	close(release) // Run waits for Decide calls still running, after every exec is answered
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(gateDeadline):
		t.Fatal("Run did not return after cancel")
	}
	if got := gateFanotifyFDs(t); got != fdsBefore {
		t.Errorf("fanotify descriptors open after Run = %d, want %d", got, fdsBefore)
	}
	if err := g.SetPaths(nil); err == nil {
		t.Errorf("SetPaths after Run = nil error, want one")
	}
}

func TestGateSetPaths(t *testing.T) {
	bins := gateBuild(t)
	mnt := gateMount(t)
	revit := filepath.Join(mnt, "autodesk/revit/revit")
	acad := filepath.Join(mnt, "autodesk/acad/acad")
	microstation := filepath.Join(mnt, "bentley/ustation")
	for _, p := range []string{revit, acad, microstation} {
		gateInstall(t, bins.product, p)
	}
	rec := &gateRecorder{allow: false}
	g, err := NewGate(GateOptions{Paths: []string{revit, acad}, Decide: rec.decide, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	gateStart(t, g)

	tests := []struct {
		name       string
		paths      []string
		wantInode  int // directory marks
		wantMount  int
		wantDenied []string
		wantRan    []string
	}{
		{"two files", []string{revit, acad}, 2, 0, []string{revit, acad}, []string{microstation}},
		{"one file dropped", []string{revit}, 1, 0, []string{revit}, []string{acad, microstation}},
		{"a directory added", []string{revit, filepath.Join(mnt, "bentley")}, 1, 1, []string{revit, microstation}, []string{acad}},
		{"a glob instead", []string{filepath.Join(mnt, "*/acad")}, 0, 1, []string{acad}, []string{revit, microstation}},
		{"nothing", nil, 0, 0, nil, []string{revit, acad, microstation}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := g.SetPaths(tt.paths); err != nil {
				t.Fatal(err)
			}
			inode, mount := gateMarks(t, g)
			if inode != tt.wantInode || mount != tt.wantMount {
				t.Errorf("marks: %d directory, %d mount; want %d, %d", inode, mount, tt.wantInode, tt.wantMount)
			}
			for _, exe := range tt.wantDenied {
				if l := bins.run(t, exe, 1); l.Ran || !l.EPERM {
					t.Errorf("%s: ran = %v, exec error %q; want refused with EPERM", exe, l.Ran, l.Err)
				}
			}
			for _, exe := range tt.wantRan {
				if l := bins.run(t, exe, 1); !l.Ran || l.Err != "" {
					t.Errorf("%s: ran = %v, exec error %q; want it to run", exe, l.Ran, l.Err)
				}
			}
		})
	}
	if err := g.SetPaths([]string{"relative/revit"}); err == nil {
		t.Errorf("SetPaths(relative path) = nil error, want one")
	}
}

func TestGateOptionsRejected(t *testing.T) {
	decide := func(GateRequest) bool { return true }
	tests := []struct {
		name string
		opts GateOptions
	}{
		{"no Decide", GateOptions{Paths: []string{"/opt/revit"}}},
		{"relative path", GateOptions{Paths: []string{"opt/revit"}, Decide: decide}},
		{"bad pattern", GateOptions{Paths: []string{"/opt/[revit"}, Decide: decide}},
	}
	for _, tt := range tests {
		if g, err := NewGate(tt.opts); err == nil {
			gateStart(t, g)
			t.Errorf("%s: NewGate = nil error, want one", tt.name)
		}
	}
}

// TestGateNotPermitted runs NewGate in a new user namespace, where the process is root but
// holds no capability in the initial namespace: as in an unprivileged container.
func TestGateNotPermitted(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestGateHelperProcess$")
	cmd.Env = append(os.Environ(), "TOLLGATE_GATE_HELPER=not-permitted")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"errors.Is(err, EPERM) = true",
		"pre-exec gate not permitted: fanotify permission events need CAP_SYS_ADMIN",
		"denied launches are closed after start",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("NewGate without CAP_SYS_ADMIN said %q, want it to contain %q", got, want)
		}
	}
}

// TestGateHelperProcess is TestGateNotPermitted's child; on its own it does nothing.
func TestGateHelperProcess(t *testing.T) {
	if os.Getenv("TOLLGATE_GATE_HELPER") != "not-permitted" {
		return
	}
	g, err := NewGate(GateOptions{Decide: func(GateRequest) bool { return true }})
	if g != nil {
		t.Fatal("NewGate returned a gate without CAP_SYS_ADMIN")
	}
	fmt.Printf("errors.Is(err, EPERM) = %v\n%v\n", errors.Is(err, unix.EPERM), err)
}

// BenchmarkGateExec times execs of a product that the gate asks Decide about and allows, made by
// a launcher process, against the same execs with no gate, and execs of an unrelated program on
// the watched mount, which the gate allows unasked. The three alternate in rounds, so that drift
// in the load of a shared machine falls on each alike.
func BenchmarkGateExec(b *testing.B) {
	bins := gateBuild(b)
	mnt := gateMount(b)
	exe := filepath.Join(mnt, "autodesk/revit/revit")
	other := filepath.Join(mnt, "tools/other")
	gateInstall(b, bins.product, exe)
	gateInstall(b, bins.product, other)
	timed := func(exe string, n int) int64 {
		l := bins.run(b, exe, n)
		if !l.Ran || l.Err != "" {
			b.Fatalf("%s: ran = %v, exec error %q", exe, l.Ran, l.Err)
		}
		return l.NS
	}

	rounds := min(b.N, 10)
	var ungated, gated, unasked int64
	for r := range rounds {
		n := b.N/rounds + btoi(r < b.N%rounds)
		ungated += timed(exe, n)
		g, err := NewGate(GateOptions{
			Paths:  []string{filepath.Join(mnt, "autodesk")},
			Decide: func(GateRequest) bool { return true },
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- g.Run(ctx) }()
		gated += timed(exe, n)
		unasked += timed(other, n)
		cancel()
		if err := <-runErr; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(gated)/float64(b.N), "ns/op")
	b.ReportMetric(float64(ungated)/float64(b.N), "ungated-ns/op")
	b.ReportMetric(float64(gated)/float64(ungated), "gated/ungated")
	b.ReportMetric(float64(unasked)/float64(ungated), "unasked/ungated")
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// gateFanotifyFDs counts this process's fanotify descriptors.
func gateFanotifyFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:[fanotify]" {
			n++
		}
	}
	return n
}

// gateMarks counts the inode and mount marks of g's group, as the kernel lists them.
func gateMarks(t testing.TB, g *Gate) (inode, mount int) {
	t.Helper()
	rc, err := g.f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info []byte
	var readErr error
	if err := rc.Control(func(fd uintptr) {
		info, readErr = os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	}); err != nil {
		t.Fatal(err)
	}
	if readErr != nil {
		t.Fatal(readErr)
	}
	for _, line := range strings.Split(string(info), "\n") {
		switch {
		case strings.HasPrefix(line, "fanotify ino:"):
			inode++
		case strings.HasPrefix(line, "fanotify mnt_id:"):
			mount++
		}
	}
	return inode, mount
}
