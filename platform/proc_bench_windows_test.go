package platform

import (
	"context"
	"os/exec"
	"testing"

	"github.com/shirou/gopsutil/v4/process"
)

// procBenchExtraWindows is how many processes the Windows benchmarks add: fewer than on Linux,
// since under Wine each is a Linux process with Wine's own threads.
const procBenchExtraWindows = 100

// procSpawnWaiters starts n processes that wait on their standard input for the rest of the
// benchmark: find.exe, part of every Windows (and Wine).
func procSpawnWaiters(b *testing.B, n int) {
	b.Helper()
	type waiter struct {
		cmd  *exec.Cmd
		stop func() error
	}
	var ws []waiter
	b.Cleanup(func() {
		for _, w := range ws {
			w.stop()
			w.cmd.Process.Kill()
			w.cmd.Wait()
		}
	})
	for range n {
		c := exec.Command("find.exe", "x")
		in, err := c.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(); err != nil {
			b.Fatalf("starting waiter %d: %v", len(ws), err)
		}
		ws = append(ws, waiter{c, in.Close})
	}
}

// BenchmarkScanTick is a scan of a table the source has seen: what each poll costs, with one
// NtQuerySystemInformation call.
func BenchmarkScanTick(b *testing.B) {
	procSpawnWaiters(b, procBenchExtraWindows)
	ctx := context.Background()
	src := NewSource(SourceOptions{})
	for range 2 { // the first scan reads every process; the second settles the table
		if _, err := src.Scan(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := src.Scan(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(src.procs)), "procs")
}

// BenchmarkGopsutilProcessesName is the naive poll, the baseline: every process's name, every
// time, as gopsutil reads them (a process handle per name).
func BenchmarkGopsutilProcessesName(b *testing.B) {
	procSpawnWaiters(b, procBenchExtraWindows)
	ctx := context.Background()
	for b.Loop() {
		ps, err := process.ProcessesWithContext(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range ps {
			p.NameWithContext(ctx)
		}
	}
}
