//go:build linux

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/ledgertest"
)

func percentiles(b *testing.B, name string, ds []time.Duration) {
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), name+"-p50-ms")
	b.ReportMetric(at(0.99), name+"-p99-ms")
}

// BenchmarkLaunchToDecision is the time from a product's exec to the user's notice that
// it started in grace, with the ledger online (the agent asks it before deciding), next
// to the same launch decided from an entitlement file (no network: the floor).
func BenchmarkLaunchToDecision(b *testing.B) {
	for _, mode := range []string{"ledger", "file"} {
		b.Run(mode, func(b *testing.B) {
			o := agenttest.Options{Bins: bins, NoGate: true, Available: 1 << 40}
			if mode == "ledger" {
				s := benchSystem(b)
				o.LedgerURL, o.EnrollToken, o.Clock = s.ledger.URL, s.enroll, s.clock
			}
			r := agenttest.New(b, o)
			r.Start()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			msgs := make(chan localapi.Message, 64)
			go r.Client.Events(ctx, func(m localapi.Message) { msgs <- m })
			time.Sleep(200 * time.Millisecond) // subscribed
			var ds []time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p := r.Launch("bin/revit")
				for m := range msgs {
					if m.Kind == "grace" {
						break
					}
				}
				ds = append(ds, time.Since(t0))
				r.Quit(p)
				r.WaitFor("the exit seen", func(st localapi.Status) bool { ss, _ := agenttest.SessionOf(st, "revit"); return ss.Procs == 0 })
				r.SetClock(r.Now().Add(time.Minute)) // the session ends within its grace; the next launch is new
				r.Settled(func(st localapi.Status) bool { return len(st.Sessions) == 0 })
			}
			percentiles(b, "decision", ds)
		})
	}
}

func benchSystem(b *testing.B) *system {
	clock := agenttest.NewClock(b, b.TempDir())
	l := ledgertest.Start(b, bins.Tollgate, "", clock.Path)
	return &system{clock: clock, ledger: l, enroll: l.Studio(1_000_000_000, me)}
}

// BenchmarkBacklogDrain is how fast an agent back from 31 days offline drains its
// journal into the ledger, next to the ledger taking the same events straight from a
// client in batches of the same size (the floor).
func BenchmarkBacklogDrain(b *testing.B) {
	const days, perDay = 31, 100
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchSystem(b)
		r := agenttest.New(b, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock, NoGate: true})
		r.Start() // enrolls
		r.Stop()
		events := backlog(days, perDay)
		j, err := journal.Open(filepath.Join(r.State, "journal.db"))
		if err != nil {
			b.Fatal(err)
		}
		epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // the clock file's monotonic origin
		for d := range days {
			w := day1.Add(time.Duration(d) * charge.Day)
			in := journal.Input{Kind: "advance", Reading: charge.Reading{Wall: w, Mono: w.Sub(epoch)}}
			if err := j.Record(&in, events[d*perDay:(d+1)*perDay]); err != nil {
				b.Fatal(err)
			}
		}
		j.Close()
		floor := s.ledger.Device(b, s.enroll, "floor") // enrolled before the month passes
		s.ledger.CLI("user", "assign", "floor@studio.example", "--team", "studio")
		s.clock.Set(b, day1.Add(days*charge.Day))
		b.StartTimer()
		t0 := time.Now()
		r.Start()
		r.WaitFor("the backlog drained", func(st localapi.Status) bool { return st.Backlog == 0 })
		agentRate := float64(days*perDay) / time.Since(t0).Seconds()
		b.StopTimer()

		// The floor: the same events from a client, batches of 500.
		var evs []api.Event
		for k, f := range backlog(days, perDay) {
			f.Key.User, f.User = "floor@studio.example", "floor@studio.example"
			evs = append(evs, api.Event{ID: fmt.Sprint("f", k), Effect: f})
		}
		t0 = time.Now()
		for k := 0; k < len(evs); k += 500 {
			if _, err := floor.Ingest(context.Background(), evs[k:min(k+500, len(evs))]); err != nil {
				b.Fatal(err)
			}
		}
		floorRate := float64(len(evs)) / time.Since(t0).Seconds()
		b.ReportMetric(agentRate, "agent-events/s")
		b.ReportMetric(floorRate, "floor-events/s")
		b.ReportMetric(agentRate/floorRate, "x-floor")
		b.StartTimer()
	}
}

// backlog is a busy device's month: each day a Revit and an AutoCAD window charged, and
// short sessions that ended within their grace.
func backlog(days, perDay int) []charge.Effect {
	var out []charge.Effect
	for d := range days {
		at := day1.Add(time.Duration(d) * charge.Day)
		for _, p := range []struct {
			id   string
			rate int64
		}{{"revit", 10}, {"autocad", 7}} {
			k := charge.Key{Team: "studio", User: me, Product: p.id, Start: at}
			out = append(out,
				charge.Effect{Kind: charge.Opened, At: at, Device: "bench", User: me, Product: p.id, Reason: charge.InGrace},
				charge.Effect{Kind: charge.Held, At: at, Device: "bench", User: me, Product: p.id, Key: k, Tokens: p.rate},
				charge.Effect{Kind: charge.Charged, At: at.Add(5 * time.Minute), Device: "bench", User: me, Product: p.id, Key: k, Tokens: p.rate},
				charge.Effect{Kind: charge.Ended, At: at.Add(time.Hour), Device: "bench", User: me, Product: p.id, Use: time.Hour})
		}
		for len(out) < (d+1)*perDay {
			t := at.Add(time.Duration(len(out)%perDay) * time.Minute)
			k := charge.Key{Team: "studio", User: me, Product: "rhino", Start: t}
			out = append(out,
				charge.Effect{Kind: charge.Opened, At: t, Device: "bench", User: me, Product: "rhino", Reason: charge.InGrace},
				charge.Effect{Kind: charge.Released, At: t.Add(time.Minute), Device: "bench", User: me, Product: "rhino", Key: k, Tokens: 5, Use: time.Minute})
		}
	}
	return out
}
