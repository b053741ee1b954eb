package charge_test

import (
	"fmt"
	"testing"
	"time"

	"tollgate/charge"
)

// busy is a team of 1,000 users, each with a session open on one terminal server, and a
// pool of 1,000 packs: the largest device and team we plan for.
type busy struct {
	pool  *charge.Pool
	rates map[string]int64
	now   time.Time
}

func (b *busy) Entitlement(user string) charge.Entitlement {
	return charge.Entitlement{User: user, Team: "studio", Assigned: true, Rates: b.rates, Available: b.pool.Available(b.now), AsOf: b.now}
}

func newBusy(b *testing.B) (*busy, *charge.Meter, time.Duration) {
	w := &busy{pool: &charge.Pool{Team: "studio"}, rates: map[string]int64{"revit": 10, "autocad": 7}, now: monday}
	for i := range 1000 {
		p, err := charge.NewPack(fmt.Sprint("p", i), "studio", 100+int64(i), monday.AddDate(0, 0, -i/4))
		if err != nil {
			b.Fatal(err)
		}
		w.pool.Add(p, monday)
	}
	m := charge.NewMeter("terminal-server", charge.Policy{})
	var mono time.Duration
	m.Advance(charge.Reading{Wall: w.now, Mono: mono}, w)
	for i := range 1000 {
		m.Start(charge.Reading{Wall: w.now, Mono: mono}, charge.Proc{ID: fmt.Sprint("proc", i), User: fmt.Sprint("user", i), Product: "revit"}, w)
	}
	return w, m, mono
}

// BenchmarkDecision is one launch decided on a device with 1,000 open sessions, for a
// team with 1,000 packs: the meter's step over every session, the entitlement's balance
// over every pack, and the rules.
func BenchmarkDecision(b *testing.B) {
	w, m, mono := newBusy(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mono += time.Millisecond
		w.now = w.now.Add(time.Millisecond)
		d, _ := m.Start(charge.Reading{Wall: w.now, Mono: mono}, charge.Proc{ID: fmt.Sprint("new", i), User: "newcomer", Product: "autocad"}, w)
		if !d.Allowed {
			b.Fatalf("got %s, want allowed", d.Reason)
		}
		b.StopTimer()
		mono += 11 * time.Second // close it and let the merge gap pass, so every launch is a new session
		w.now = w.now.Add(11 * time.Second)
		m.Exit(charge.Reading{Wall: w.now, Mono: mono}, fmt.Sprint("new", i), w)
		mono += 11 * time.Second
		w.now = w.now.Add(11 * time.Second)
		m.Advance(charge.Reading{Wall: w.now, Mono: mono}, w)
		b.StartTimer()
	}
}

// BenchmarkDecide is the rules alone, the floor under BenchmarkDecision.
func BenchmarkDecide(b *testing.B) {
	e := charge.Entitlement{User: "mary", Team: "studio", Assigned: true, Rates: rates, Available: 100, AsOf: monday}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if d := charge.Decide(e, "revit", monday, charge.Policy{}); !d.Allowed {
			b.Fatal("denied")
		}
	}
}
