package sim

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// StreamedDiffers runs tl held and streamed and says how they differ: the streamed lines
// must be the held ones sorted stably by time (what `tollgate simulate` prints), or with
// Options.Decided the held ones as they are (what --json writes), the streamed charges
// the held ones in their order, and the rest of the result the same.
// Exported for the tests of package sim_test.
func StreamedDiffers(tl *Timeline) error {
	held, herr := Run(tl)
	var start []Balance
	var lines []Line
	var charges []Charge
	got, gerr := RunWith(tl, Options{
		Start:  func(b []Balance) error { start = b; return nil },
		Line:   func(l Line) error { lines = append(lines, l); return nil },
		Charge: func(c Charge) error { charges = append(charges, c); return nil },
	})
	if (herr != nil) != (gerr != nil) {
		return fmt.Errorf("held run error %v, streamed run error %v", herr, gerr)
	}
	if herr != nil {
		return nil
	}
	want := slices.Clone(held.Lines)
	slices.SortStableFunc(want, func(a, b Line) int { return a.At.Compare(b.At) })
	if len(lines) != len(want) {
		return fmt.Errorf("got %d streamed lines, want %d", len(lines), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(lines[i], want[i]) {
			return fmt.Errorf("streamed line %d: got %s %q, want %s %q", i, lines[i].At, lines[i].Text, want[i].At, want[i].Text)
		}
	}
	if !reflect.DeepEqual(charges, held.Charges) && len(charges)+len(held.Charges) > 0 {
		return fmt.Errorf("streamed charges: got %v, want %v", charges, held.Charges)
	}
	if !reflect.DeepEqual(start, held.Start) {
		return fmt.Errorf("start: got %v, want %v", start, held.Start)
	}
	if len(got.Lines)+len(got.Charges) > 0 {
		return fmt.Errorf("streamed result holds %d lines and %d charges, want none", len(got.Lines), len(got.Charges))
	}
	got.Lines, got.Charges = held.Lines, held.Charges
	if !reflect.DeepEqual(got, held) {
		return fmt.Errorf("streamed result: got %+v, want %+v", got, held)
	}
	var decided []Line
	if _, err := RunWith(tl, Options{Decided: true, Line: func(l Line) error { decided = append(decided, l); return nil }}); err != nil {
		return fmt.Errorf("streamed in the order decided: %w", err)
	}
	if !reflect.DeepEqual(decided, held.Lines) && len(decided)+len(held.Lines) > 0 {
		return fmt.Errorf("lines streamed in the order decided differ from the held lines")
	}
	return nil
}

// TestStreamedYear: a generated studio year streams in exactly the order of the held
// lines sorted by time, and holds a few days of lines at most, not the year.
func TestStreamedYear(t *testing.T) {
	for _, n := range []int{30, 120} {
		tl := studioYear(n)
		if err := tl.check(); err != nil {
			t.Fatal(err)
		}
		if err := StreamedDiffers(tl); err != nil {
			t.Errorf("users=%d: %v", n, err)
		}
		e, lines := peakHeld(t, tl)
		if e*20 > lines {
			t.Errorf("users=%d: got up to %d lines held at once of %d, want at most a twentieth", n, e, lines)
		}
	}
}

// peakHeld is the most lines a streamed run of tl held at once, and how many it streamed.
func peakHeld(t testing.TB, tl *Timeline) (peak, lines int) {
	var e *engine
	_, err := runWith(tl, Options{Line: func(Line) error { lines++; return nil }, Charge: func(Charge) error { return nil }}, &e)
	if err != nil {
		t.Fatal(err)
	}
	return e.rb.peak, lines
}

// BenchmarkSimulateYearStreamed replays a studio's year held (as Run does) and streamed
// (as `tollgate simulate` does), each the baseline of the other in the same run, and
// reports per event: the peak heap in use during the run (sampled every 2 ms; it includes
// the timeline and the garbage not yet collected), what the result still holds after it
// (the held lines and charges, or nothing), the most lines held at once, and, for scale,
// the parsed timeline itself.
func BenchmarkSimulateYearStreamed(b *testing.B) {
	for _, n := range []int{400, 1600} {
		before := liveHeap()
		tl := studioYear(n)
		if err := tl.check(); err != nil {
			b.Fatal(err)
		}
		ev := float64(len(tl.Events))
		timeline := float64(liveHeap()-before) / ev
		for _, mode := range []string{"held", "streamed"} {
			b.Run(fmt.Sprintf("users=%d/%s", n, mode), func(b *testing.B) {
				opt := Options{}
				if mode == "streamed" {
					opt = Options{Line: func(Line) error { return nil }, Charge: func(Charge) error { return nil }}
				}
				var peak, kept uint64
				var e *engine
				held := 0 // the most lines held at once
				b.ReportAllocs()
				for b.Loop() {
					base := liveHeap()
					stop := sampleHeap(&peak)
					res, err := runWith(tl, opt, &e)
					stop()
					if err != nil {
						b.Fatal(err)
					}
					held = max(held, len(res.Lines), e.rb.peak)
					e = nil // what the engine kept is not the result's
					after := liveHeap()
					kept = max(kept, after-min(base, after))
					runtime.KeepAlive(res)
				}
				b.ReportMetric(float64(held), "lines-held")
				b.ReportMetric(float64(peak)/ev, "peak-heap-B/event")
				b.ReportMetric(float64(kept)/ev, "result-B/event")
				b.ReportMetric(timeline, "timeline-B/event")
				b.ReportMetric(ev, "events")
			})
		}
		runtime.KeepAlive(tl)
	}
}

// liveHeap is the heap that survives a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// sampleHeap records the heap in use, every 2 ms, in *peak, until the function it returns
// is called.
func sampleHeap(peak *uint64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	read := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		*peak = max(*peak, m.HeapInuse)
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				read()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		read()
	}
}

// TestStreamedOutOfOrderFails: with a reorder bound too small for a session's merge gap,
// the run stops with an error that says so, instead of printing a line out of time order.
func TestStreamedOutOfOrderFails(t *testing.T) {
	tl, err := Parse("late.yaml", []byte(`products: [{id: revit, rate: 10}]
teams: [{id: studio}]
packs: [{id: p1, team: studio, tokens: 100}]
users: [{id: mary, team: studio}, {id: tom, team: studio}]
events:
  - {at: 2026-11-02T09:00:00Z, device: ws1, user: mary, start: revit}
  - {at: 2026-11-02T10:00:00Z, device: ws1, user: mary, end: revit}
  - {at: 2026-11-02T10:00:05Z, device: ws2, user: tom, start: revit}
  - {at: 2026-11-02T10:00:07Z, report: true}
  - {at: 2026-11-02T10:00:08Z, report: true}
  - {at: 2026-11-02T11:00:00Z, device: ws2, user: tom, end: revit}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := StreamedDiffers(tl); err != nil {
		t.Fatalf("with the engine's bound: %v", err)
	}
	var e *engine
	var printed []Line
	_, err = runWith(tl, Options{
		Start: func([]Balance) error { e.rb.lateness = 0; return nil }, // the engine is made by then
		Line:  func(l Line) error { printed = append(printed, l); return nil },
	}, &e)
	if err == nil || !strings.Contains(err.Error(), "reorder bound") {
		t.Fatalf("with no bound: got error %v, want one naming the reorder bound", err)
	}
	for i := 1; i < len(printed); i++ {
		if printed[i].At.Before(printed[i-1].At) {
			t.Errorf("got line %q at %s printed after one at %s", printed[i].Text, printed[i].At, printed[i-1].At)
		}
	}
}
