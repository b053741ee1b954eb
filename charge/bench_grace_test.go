package charge_test

import (
	"fmt"
	"testing"
	"time"

	"tollgate/charge"
)

// terminal is a terminal server with 1,000 users each running revit, for a team of
// 1,000 packs. paid gives every user a window paid on another device, so that no session
// is in grace: the baseline for the cost of grace bookkeeping. The users log on every
// stagger, the last at the returned time.
func terminal(b *testing.B, paid bool, stagger time.Duration) (*busy, *charge.Meter) {
	w := &busy{pool: &charge.Pool{Team: "studio"}, rates: map[string]int64{"revit": 10, "autocad": 7}, now: monday}
	for i := range 1000 {
		p, err := charge.NewPack(fmt.Sprint("p", i), "studio", 100+int64(i), monday.AddDate(0, 0, -i/4))
		if err != nil {
			b.Fatal(err)
		}
		w.pool.Add(p, monday)
	}
	m := charge.NewMeter("terminal-server", charge.Policy{})
	m.Advance(charge.Reading{Wall: w.now}, w)
	for i := range 1000 {
		user := fmt.Sprint("user", i)
		if paid {
			m.Learn(charge.Window{Key: charge.Key{Team: "studio", User: user, Product: "revit", Start: monday.Add(-time.Hour)}, Tokens: 10})
		}
		if i > 0 {
			w.now = w.now.Add(stagger)
		}
		m.Start(charge.Reading{Wall: w.now, Mono: w.now.Sub(monday)}, charge.Proc{ID: fmt.Sprint("proc", i), User: user, Product: "revit"}, w)
	}
	return w, m
}

// tick advances the meter every second for d, as the agent's scan does.
func tick(w *busy, m *charge.Meter, d time.Duration) {
	for range int(d / time.Second) {
		w.now = w.now.Add(time.Second)
		m.Advance(charge.Reading{Wall: w.now, Mono: w.now.Sub(monday)}, w)
	}
}

// launchAfter times one launch of a new (user, product) on a terminal after its 1,000
// sessions ran for 4m50s, ticked every second: in grace all that time, or paid.
func launchAfter(b *testing.B, paid bool) {
	w, m := terminal(b, paid, 0)
	tick(w, m, 4*time.Minute+50*time.Second)
	for _, s := range m.Sessions()[:1] {
		if want := map[bool]charge.Phase{false: charge.PhaseGrace, true: charge.PhasePaid}[paid]; s.State != want {
			b.Fatalf("got a session in %s, want %s", s.State, want)
		}
	}
	st := m.Save()
	start := w.now
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m = charge.Restore(st)
		w.now = start.Add(time.Millisecond)
		b.StartTimer()
		d, _ := m.Start(charge.Reading{Wall: w.now, Mono: w.now.Sub(monday)}, charge.Proc{ID: "new", User: "newcomer", Product: "autocad"}, w)
		if !d.Allowed {
			b.Fatalf("got %s, want allowed", d.Reason)
		}
	}
}

// BenchmarkLaunchGrace is one launch on a terminal server whose 1,000 sessions have been
// in grace for 4m50s; BenchmarkLaunchPaid, its baseline, the same with none in grace.
func BenchmarkLaunchGrace(b *testing.B) { launchAfter(b, false) }
func BenchmarkLaunchPaid(b *testing.B)  { launchAfter(b, true) }

// catchUp times one Advance gap after 1,000 sessions started in grace, one every 100 ms:
// a device whose timer was late (gap 10 minutes, every grace runs out and is charged on
// the way, each at its own instant), or the baseline, the next tick (gap 1 ms).
func catchUp(b *testing.B, gap time.Duration, want charge.Phase) {
	w, m := terminal(b, false, 100*time.Millisecond)
	st := m.Save()
	last := w.now
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m = charge.Restore(st)
		w.now = last.Add(gap)
		b.StartTimer()
		m.Advance(charge.Reading{Wall: w.now, Mono: w.now.Sub(monday)}, w)
		b.StopTimer()
		if got := m.Sessions()[0].State; got != want {
			b.Fatalf("got a session in %s after %v, want %s", got, gap, want)
		}
		b.StartTimer()
	}
}

func BenchmarkCatchUp10m(b *testing.B)  { catchUp(b, 10*time.Minute, "paid") }
func BenchmarkCatchUpTick(b *testing.B) { catchUp(b, time.Millisecond, "grace") }
