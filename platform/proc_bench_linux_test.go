package platform

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// procBenchExtra is how many processes the benchmarks add to the machine's.
const procBenchExtra = 500

// procSpawnSleepers starts n sleeping children for the rest of the benchmark.
func procSpawnSleepers(b *testing.B, n int) {
	b.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		b.Fatal(err)
	}
	cmds := make([]*exec.Cmd, 0, n)
	b.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	})
	for range n {
		c := exec.Command(sleep, "3600")
		if err := c.Start(); err != nil {
			b.Fatalf("starting sleeper %d: %v", len(cmds), err)
		}
		cmds = append(cmds, c)
	}
}

// BenchmarkScanTick is a scan of a table the source has seen: what each poll costs.
func BenchmarkScanTick(b *testing.B) {
	procSpawnSleepers(b, procBenchExtra)
	ctx := context.Background()
	src := NewSource(SourceOptions{})
	if _, err := src.Scan(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := src.Scan(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(src.procs)), "procs")
}

// BenchmarkGopsutilProcessesName is the naive poll: every process's name, every time.
func BenchmarkGopsutilProcessesName(b *testing.B) {
	procSpawnSleepers(b, procBenchExtra)
	ctx := context.Background()
	process.EnableBootTimeCache(true)
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

// BenchmarkListProcDir is the floor: the names in /proc, and nothing else.
func BenchmarkListProcDir(b *testing.B) {
	procSpawnSleepers(b, procBenchExtra)
	for b.Loop() {
		d, err := os.Open("/proc")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Readdirnames(-1); err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}

// BenchmarkExecToEvent measures from starting a program to its start reaching the source's
// callback, with the kernel's events and with a scan every 500ms. Run it with -benchtime=Nx:
// each iteration is one launch.
func BenchmarkExecToEvent(b *testing.B) {
	bins := procBuildHelper(b, "evtarget")
	procSpawnSleepers(b, procBenchExtra)
	modes := []struct {
		name  string
		watch func(*Source, context.Context, func(Diff)) error
		// phase spreads the launches over the poll interval; launched right after the
		// previous one was seen, each would wait a whole interval.
		phase time.Duration
	}{
		{"connector", (*Source).Watch, 0},
		{"poll-500ms", func(s *Source, ctx context.Context, fn func(Diff)) error {
			return s.poll(ctx, 500*time.Millisecond, fn)
		}, 500 * time.Millisecond},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			type seen struct {
				pid int32
				at  time.Time
			}
			starts := make(chan seen, 16)
			src := NewSource(SourceOptions{Filter: procOnly("evtarget"), SafetyPoll: time.Hour})
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				errc <- m.watch(src, ctx, func(d Diff) {
					at := time.Now()
					for _, p := range d.Started {
						starts <- seen{p.Key.PID, at}
					}
				})
			}()
			defer func() {
				cancel()
				if err := <-errc; err != nil {
					b.Error(err)
				}
			}()
			for src.Mode() == "" {
				time.Sleep(time.Millisecond)
			}
			var lat []time.Duration
			for b.Loop() {
				if m.phase > 0 {
					time.Sleep(rand.N(m.phase))
				}
				t0 := time.Now()
				c := procStart(b, bins["evtarget"], "wait")
				for s := range starts {
					if s.pid == c.pid() {
						lat = append(lat, s.at.Sub(t0))
						break
					}
				}
				c.end(b)
			}
			slices.Sort(lat)
			pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
