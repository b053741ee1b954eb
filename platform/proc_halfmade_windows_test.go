package platform

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

func TestProcHalfMade(t *testing.T) {
	const wineUnset = 0x5555555555555555 // a create time Wine has not written yet
	now := int64(134402612033746410)     // 2026-11-27 as a FILETIME
	for _, tt := range []struct {
		name    string
		pid     uintptr
		nameLen uint16
		created int64
		want    bool
	}{
		{"a named process", 1234, 18, now, false},
		{"the idle process, nameless", 0, 0, 0, false},
		{"System, created at boot", 4, 12, now - 1e12, false},
		{"no name yet", 1234, 0, wineUnset, true},
		{"named, create time not yet written", 1234, 18, wineUnset, true},
		{"no name, create time written", 1234, 0, now, true},
	} {
		if got := procHalfMade(tt.pid, tt.nameLen, tt.created); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSourceSeesWholeProcessesWindows scans without pause while products start: Wine lists a
// new process first with no name and an unwritten create time, then named, then whole (the
// program that starts it waits in CreateProcess meanwhile, so only another process, like the
// agent, sees those entries). Each product must be reported once, named, under the create time
// Windows keeps for it, and not as exited while it runs (before, a scan in those moments
// reported a nameless process, or one whose create time the next scan contradicted: an exit
// and a second start).
func TestSourceSeesWholeProcessesWindows(t *testing.T) {
	src := NewSource(SourceOptions{}) // no filter: every process it lists is reported
	if _, err := src.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		starts = map[int32][]Process{}
		exits  = map[int32]int{}
		scans  int
	)
	seen := func(pid int32) bool { mu.Lock(); defer mu.Unlock(); return len(starts[pid]) > 0 }
	stop, stopped := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				stopped <- nil
				return
			default:
			}
			d, err := src.Scan(context.Background())
			if err != nil {
				stopped <- err
				return
			}
			mu.Lock()
			scans++
			for _, p := range d.Started {
				starts[p.Key.PID] = append(starts[p.Key.PID], p)
			}
			for _, k := range d.Exited {
				exits[k.PID]++
			}
			mu.Unlock()
		}
	}()
	const products = 4
	var pids []int32
	for range products {
		pid := int32(startProduct(t, "Revit.exe").Process.Pid)
		pids = append(pids, pid)
		for end := time.Now().Add(20 * time.Second); !seen(pid); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				close(stop)
				<-stopped
				t.Fatalf("Revit.exe (process %d) never showed in a scan within 20s", pid)
			}
		}
		time.Sleep(300 * time.Millisecond) // scans of the product whole, after its first sight
	}
	close(stop)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d scans", scans)
	for pid, ps := range starts {
		for _, p := range ps {
			if p.Name == "" && pid != 0 {
				t.Errorf("process %d reported with no name: %+v", pid, p)
			}
		}
	}
	for _, pid := range pids {
		ps := starts[pid]
		if len(ps) != 1 || exits[pid] != 0 {
			t.Errorf("Revit.exe %d: got %d starts %+v and %d exits while it ran, want 1 start and no exit", pid, len(ps), ps, exits[pid])
			continue
		}
		if ps[0].Name != "Revit.exe" {
			t.Errorf("Revit.exe %d: got name %q, want Revit.exe", pid, ps[0].Name)
		}
		h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
		if err != nil {
			t.Fatal(err)
		}
		if err := procHandleIs(h, ps[0].Key); err != nil {
			t.Errorf("Revit.exe %d: reported under create time %d, which is not the one Windows gives it: %v", pid, ps[0].Key.Created, err)
		}
		windows.CloseHandle(h)
	}
}
