package platform

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/shirou/gopsutil/v4/process"
)

func TestScanFirstReportsRunning(t *testing.T) {
	src := NewSource(SourceOptions{})
	d, err := src.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		pid  int
		exe  string
	}{
		{"init", 1, ""},
		{"this test", os.Getpid(), exe},
	} {
		p, ok := procFind(d, int32(tt.pid))
		if !ok {
			t.Errorf("%s: got no start for pid %d among %d, want one", tt.name, tt.pid, len(d.Started))
			continue
		}
		if tt.exe != "" && p.Exe != tt.exe {
			t.Errorf("%s: got exe %q, want %q", tt.name, p.Exe, tt.exe)
		}
	}
	if len(d.Exited) != 0 {
		t.Errorf("got exits %v from a first scan, want none", d.Exited)
	}
}

func TestScanReportsChildren(t *testing.T) {
	const long = "revit-long-product-name" // longer than the kernel keeps
	bins := procBuildHelper(t, "revit", "acad.exe", long)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"revit", "acad.exe", long}
	tests := []struct {
		name   string
		filter func(string) bool
		want   []string // children reported
	}{
		{"no filter", nil, all},
		{"filter", procOnly("revit", long), []string{"revit", long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			src := NewSource(SourceOptions{Filter: tt.filter})
			if _, err := src.Scan(ctx); err != nil {
				t.Fatalf("first Scan: %v", err)
			}
			children := map[string]*procChild{}
			for _, n := range all {
				children[n] = procStart(t, bins[n], "wait")
			}
			d, err := src.Scan(ctx)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			reported := map[string]ProcKey{}
			for _, n := range all {
				c := children[n]
				p, ok := procFind(d, c.pid())
				if want := slices.Contains(tt.want, n); ok != want {
					t.Errorf("%s: got reported %v, want %v", n, ok, want)
				}
				if !ok {
					continue
				}
				created, err := (&process.Process{Pid: c.pid()}).CreateTimeWithContext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := Process{
					Key:  ProcKey{PID: c.pid(), Created: created},
					Exe:  bins[n],
					Name: n,
					Args: []string{bins[n], "wait"},
					User: me.Username,
					UID:  os.Getuid(),
				}
				if !reflect.DeepEqual(p, want) {
					t.Errorf("%s: got %+v, want %+v", n, p, want)
				}
				reported[n] = p.Key
			}

			for _, c := range children {
				c.end(t)
			}
			d, err = src.Scan(ctx)
			if err != nil {
				t.Fatalf("Scan after the children ended: %v", err)
			}
			for _, n := range all {
				key, wasReported := reported[n]
				exited := slices.ContainsFunc(d.Exited, func(k ProcKey) bool { return k.PID == children[n].pid() })
				if exited != wasReported {
					t.Errorf("%s: got exit reported %v, want %v", n, exited, wasReported)
				}
				if exited && !slices.Contains(d.Exited, key) {
					t.Errorf("%s: got exits %v, want one of %v", n, d.Exited, key)
				}
			}
		})
	}
}

func TestScanPidReuse(t *testing.T) {
	ctx := context.Background()
	bins := procBuildHelper(t, "revit", "acad.exe")
	src := NewSource(SourceOptions{Filter: procOnly("revit", "acad.exe")})
	if _, err := src.Scan(ctx); err != nil {
		t.Fatalf("first Scan: %v", err)
	}
	a := procStart(t, bins["revit"], "wait")
	d, err := src.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	pa, ok := procFind(d, a.pid())
	if !ok {
		t.Fatalf("got no start for revit (pid %d) in %+v", a.pid(), d)
	}
	a.end(t)

	// ns_last_pid is the pid the kernel handed out last: setting it hands a's pid to the next
	// process. Other processes may take it first, and a process started within the same clock
	// tick as a has its create time; either way, try again.
	var b *procChild
	for range 200 {
		err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(int(a.pid())-1)), 0)
		if err != nil {
			t.Fatal(err)
		}
		c := procStart(t, bins["acad.exe"], "wait")
		if c.pid() == a.pid() {
			if created, err := procCreatedByPid(ctx, c.pid()); err == nil && created != pa.Key.Created {
				b = c
				break
			}
		}
		c.end(t)
	}
	if b == nil {
		t.Fatalf("could not start a process with pid %d", a.pid())
	}

	d, err = src.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	d = procOf(d, a.pid())
	if want := []ProcKey{pa.Key}; !reflect.DeepEqual(d.Exited, want) {
		t.Errorf("got exits %v, want %v", d.Exited, want)
	}
	pb, ok := procFind(d, a.pid())
	if !ok || pb.Name != "acad.exe" || pb.Key.Created == pa.Key.Created {
		t.Errorf("got start %+v (found %v), want acad.exe with pid %d and a create time other than %d",
			pb, ok, a.pid(), pa.Key.Created)
	}
}

func TestScanExecInPlace(t *testing.T) {
	ctx := context.Background()
	bins := procBuildHelper(t, "launcher", "revit")
	src := NewSource(SourceOptions{Filter: procOnly("launcher", "revit")})
	if _, err := src.Scan(ctx); err != nil {
		t.Fatalf("first Scan: %v", err)
	}
	c := procStart(t, bins["launcher"], "exec", bins["revit"], "wait")
	d, err := src.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	launcher, ok := procFind(d, c.pid())
	if !ok || launcher.Name != "launcher" {
		t.Fatalf("got %+v (found %v), want the launcher started", launcher, ok)
	}

	io.WriteString(c.stdin, "go\n")
	c.ready(t) // revit, in the launcher's place
	d, err = src.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	d = procOf(d, c.pid())
	want := Diff{
		Started: []Process{{Key: launcher.Key, Exe: bins["revit"], Name: "revit", Args: []string{bins["revit"], "wait"},
			User: launcher.User, UID: launcher.UID}},
		Exited: []ProcKey{launcher.Key},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("after exec: got %+v, want %+v", d, want)
	}

	c.end(t)
	if d, err = src.Scan(ctx); err != nil || !reflect.DeepEqual(procOf(d, c.pid()), Diff{Exited: []ProcKey{launcher.Key}}) {
		t.Errorf("after exit: got %+v, %v; want the exit of %v", d, err, launcher.Key)
	}
}

// TestScanUnderChurn scans while processes start and exit as fast as they can, so that many
// vanish between being listed and being read: no scan may fail, report a start twice or an
// exit of a process it never reported.
func TestScanUnderChurn(t *testing.T) {
	ctx := context.Background()
	src := NewSource(SourceOptions{})
	running := map[ProcKey]bool{}
	apply := func(d Diff) {
		t.Helper()
		for _, k := range d.Exited {
			if !running[k] {
				t.Errorf("got exit of %v, which was not running", k)
			}
			delete(running, k)
		}
		for _, p := range d.Started {
			if running[p.Key] {
				t.Errorf("got a second start of %v", p.Key)
			}
			if p.Key.Created == 0 {
				t.Errorf("got start %+v without a create time", p)
			}
			running[p.Key] = true
		}
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	truePath, _ = filepath.Abs(truePath)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 300 {
			exec.Command(truePath).Run()
		}
	}()
	scans := 0
	for churning := true; churning; scans++ {
		select {
		case <-done:
			churning = false
		default:
		}
		d, err := src.Scan(ctx)
		if err != nil {
			t.Fatalf("Scan %d: %v", scans, err)
		}
		apply(d)
	}
	t.Logf("%d scans", scans)
}
