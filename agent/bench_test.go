//go:build linux

package agent_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// The agent's benchmarks run the real binary. Latencies are reported as p50/p99 metrics
// next to a baseline measured in the same run, so the figures read as ratios.

func percentiles(b *testing.B, name string, ds []time.Duration) {
	slices.Sort(ds)
	p := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) }
	b.ReportMetric(p(0.5), name+"-p50-µs")
	b.ReportMetric(p(0.99), name+"-p99-µs")
}

func benchRig(b *testing.B) *agenttest.Rig {
	r := newRig(b, 100000)
	r.Start()
	return r
}

// BenchmarkCheckRoundTrip is `tollgate check` over the local API, against a bare HTTP
// round trip over a unix socket to a handler that does nothing (the floor).
func BenchmarkCheckRoundTrip(b *testing.B) {
	r := benchRig(b)
	ctx := context.Background()
	floor := floorServer(b)
	var check, bare []time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := r.Client.Check(ctx, "revit", ""); err != nil {
			b.Fatal(err)
		}
		check = append(check, time.Since(t0))
		t0 = time.Now()
		resp, err := floor.Get("http://floor/")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		bare = append(bare, time.Since(t0))
	}
	percentiles(b, "check", check)
	percentiles(b, "bare", bare)
}

func floorServer(b *testing.B) *http.Client {
	sock := filepath.Join(b.TempDir(), "floor.Sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return &http.Client{Transport: &http.Transport{Dial: func(_, _ string) (net.Conn, error) { return net.Dial("unix", sock) }}}
}

// BenchmarkExecToDecision is the time from exec to the user's grace notice, with the
// kernel's process events (this machine runs the tests as root) and with polling at the
// default 500 ms; the floor is exec to the process's own first instruction (its marker).
func BenchmarkExecToDecision(b *testing.B) {
	for _, mode := range []struct{ name, poll string }{{"events", ""}, {"poll-500ms", "500ms"}} {
		b.Run(mode.name, func(b *testing.B) {
			r := newRig(b, 1_000_000, noGate, func(o *agenttest.Options) {
				if mode.poll != "" {
					o.Args = append(o.Args, "--process-events=false")
				}
			})
			if mode.poll != "" {
				agenttest.Write(r.T, r.Config, strings.Replace(readFile(b, r.Config), "poll_interval: 50ms", "poll_interval: "+mode.poll, 1)+"\n")
			}
			r.Start()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events := make(chan localapi.Message, 16)
			go r.Client.Events(ctx, func(m localapi.Message) { events <- m })
			time.Sleep(100 * time.Millisecond) // subscribed
			var decided, ran []time.Duration
			for i := 0; i < b.N; i++ {
				marker := filepath.Join(r.Dir, "m"+strconv.Itoa(i))
				t0 := time.Now()
				p := r.Launch("bin/revit", "TOLLGATE_MARKER="+marker)
				for {
					if _, err := os.Stat(marker); err == nil {
						break
					}
					time.Sleep(50 * time.Microsecond)
				}
				ran = append(ran, time.Since(t0))
				select {
				case <-events:
				case <-time.After(10 * time.Second):
					b.Fatal("no decision within 10s")
				}
				decided = append(decided, time.Since(t0))
				r.Quit(p)
				r.WaitFor("the exit seen", func(st localapi.Status) bool { ss, _ := agenttest.SessionOf(st, "revit"); return ss.Procs == 0 })
				r.SetClock(r.Now().Add(time.Minute)) // the session ends; the next launch is new
				r.Settled(func(st localapi.Status) bool { return len(st.Sessions) == 0 })
			}
			percentiles(b, "decision", decided)
			percentiles(b, "first-instruction", ran)
		})
	}
}

// BenchmarkBusyHourRSS plays an hour of a busy terminal server (b.N launches and closes
// of several products by the minute) and reports the agent's resident memory after it,
// next to its memory right after start.
func BenchmarkBusyHourRSS(b *testing.B) {
	r := newRig(b, 1_000_000)
	r.Start()
	start := rss(b, r.Pid())
	var open []*exec.Cmd
	for i := 0; i < b.N; i++ {
		for m := 0; m < 60; m++ {
			r.SetClock(day1.Add(time.Duration(i*60+m) * time.Minute))
			name := []string{"bin/revit", "bin/acad", "gated/rhino"}[m%3]
			open = append(open, r.Launch(name))
			if len(open) > 12 {
				r.Quit(open[0])
				open = open[1:]
			}
			r.Settled(nil)
		}
	}
	b.ReportMetric(float64(start)/1024, "start-rss-MiB")
	b.ReportMetric(float64(rss(b, r.Pid()))/1024, "busy-rss-MiB")
}

func rss(b *testing.B, pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
