package sim

import (
	"container/heap"
	"fmt"
	"reflect"
	"time"

	"tollgate/charge"
)

// Options change how a run hands back what it decided. The zero value is Run's: every
// line and every charge held in the Result.
type Options struct {
	// Start, when set, is given each team's pool as the timeline starts, before any line.
	Start func([]Balance) error
	// Line, when set, is given each line as soon as nothing decided later can come before
	// it, in time order (equal times in the order they were decided: Result.Lines sorted
	// stably by time), and Result.Lines stays empty.
	Line func(Line) error
	// Decided, with Line, gives the lines in the order they were decided instead (the
	// order of Result.Lines, which `tollgate simulate --json` keeps), each as soon as it
	// is complete.
	Decided bool
	// Charge, when set, is given each charge as the ledger takes it, in the order of
	// Result.Charges, and Result.Charges stays empty.
	Charge func(Charge) error
}

// A line is stamped with the time it happened, which can be before the engine got there:
// a session's end is known only after its merge gap, a renewal at its window's end is
// charged after the close_after (or idle close) wait, a window learned from another
// device can move a renewal back by up to a day, and a device whose clock was moved
// stamps lines by its own meter. Lines wait in a heap until no later decision can stamp
// an earlier time: the engine's time, less the meter's lag behind it for devices whose
// clock an event moves, less lateness (see newReorder).

type pending struct {
	l   Line
	seq uint64 // arrival order: equal times go out in it
}

type lineHeap []*pending

func (h lineHeap) Len() int { return len(h) }
func (h lineHeap) Less(i, j int) bool {
	if c := h[i].l.At.Compare(h[j].l.At); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h lineHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *lineHeap) Push(x any)   { *h = append(*h, x.(*pending)) }
func (h *lineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

type reorder struct {
	pend     lineHeap
	fifo     []*pending // Options.Decided: the lines of the step in progress
	seq      uint64
	lateness time.Duration
	clocked  []string // devices whose clock an event moves: their meters may lag true time
	sent     bool
	last     time.Time // the time of the last line handed on
	peak     int       // the most lines held at once, for the benchmark
}

// newReorder bounds how late a line can be. Read from the meter (charge/meter.go): an
// end, a release or a saving is stamped when the last process exited, fired a merge gap
// later; a renewal is stamped at its window's end, fired up to close_after or
// IdleCloseWait later, or, after a window learned from another device replaced the
// session's, up to a day later; that device's meter may itself be up to a day behind
// (its last reading before a paid session's deadline); a grace that commits after the
// device's clock jumped forward renews windows that ended up to the jump (and the grace)
// before. The sum is generous on purpose: a day or two of lines is little to hold, and a
// bound too small is caught (a line older than one already handed on fails the run).
func newReorder(tl *Timeline) reorder {
	closeAfter := time.Duration(tl.Policy.CloseAfter)
	if closeAfter == 0 {
		closeAfter = charge.DefaultCloseAfter
	}
	r := reorder{lateness: 2*charge.Day + charge.Grace + charge.MergeGap + closeAfter + charge.IdleCloseWait}
	seen := map[string]bool{}
	for _, ev := range tl.Events {
		if ev.Clock == nil {
			continue
		}
		r.lateness += max(time.Duration(*ev.Clock), -time.Duration(*ev.Clock))
		if !seen[ev.Device] {
			seen[ev.Device] = true
			r.clocked = append(r.clocked, ev.Device)
		}
	}
	return r
}

// lineRef names a line just recorded, so that its text can still be completed.
type lineRef struct {
	i int      // held: its index in Result.Lines
	p *pending // streamed: its place in the heap
}

func (e *engine) line(l Line) lineRef {
	if e.opt.Line == nil {
		e.res.Lines = append(e.res.Lines, l)
		return lineRef{i: len(e.res.Lines) - 1}
	}
	r := &e.rb
	if e.opt.Decided {
		p := &pending{l: l}
		r.fifo = append(r.fifo, p)
		r.peak = max(r.peak, len(r.fifo))
		return lineRef{p: p}
	}
	if r.sent && l.At.Before(r.last) && e.err == nil {
		e.err = fmt.Errorf("a line at %s was decided after lines up to %s were printed (the simulator's reorder bound of %s is too small: please report this timeline): %s",
			l.At.Format(time.RFC3339Nano), r.last.Format(time.RFC3339Nano), r.lateness, l.Text)
	}
	p := &pending{l: l, seq: r.seq}
	r.seq++
	heap.Push(&r.pend, p)
	r.peak = max(r.peak, len(r.pend))
	return lineRef{p: p}
}

// amend adds to the text of a line recorded earlier in the same step.
func (e *engine) amend(ref lineRef, s string) {
	if ref.p != nil {
		ref.p.l.Text += s
		return
	}
	e.res.Lines[ref.i].Text += s
}

func (e *engine) charge(c Charge) {
	if e.opt.Charge == nil {
		e.res.Charges = append(e.res.Charges, c)
		return
	}
	if err := e.opt.Charge(c); err != nil && e.err == nil {
		e.err = err
	}
}

// watermark is the earliest time a line decided from engine time t on can have.
func (e *engine) watermark(t time.Time) time.Time {
	w := t
	for _, name := range e.rb.clocked {
		d, ok := e.devices[name]
		if !ok {
			continue // made later, at a later time, on true time
		}
		// A meter's time never goes back; awake, it moves at least as fast as true time
		// (charge.Meter.step), and every deadline before t has fired.
		lb := d.meter.Now()
		if !d.asleep {
			lb = lb.Add(t.Sub(d.lastTrue))
		}
		if lb.Before(w) {
			w = lb
		}
	}
	return w.Add(-e.rb.lateness)
}

// flush hands on the lines that nothing decided from engine time t on can precede; all of
// them when final.
func (e *engine) flush(t time.Time, final bool) error {
	if e.err != nil || e.opt.Line == nil {
		return e.err
	}
	r := &e.rb
	for i, p := range r.fifo { // complete: a line is amended only in the step that made it
		r.fifo[i] = nil
		if err := e.opt.Line(p.l); err != nil {
			e.err = err
			return err
		}
	}
	r.fifo = r.fifo[:0]
	if len(r.pend) == 0 {
		return nil
	}
	w := e.watermark(t)
	for len(r.pend) > 0 && (final || !r.pend[0].l.At.After(w)) {
		p := heap.Pop(&r.pend).(*pending)
		r.sent, r.last = true, p.l.At
		if err := e.opt.Line(p.l); err != nil {
			e.err = err
			return err
		}
	}
	return nil
}

// Subsecond reports whether any time or duration in the timeline has a fraction of a
// second. Only then can a line's time have one: every other time the simulator stamps is
// a timeline time moved by whole seconds (the grace, the merge gap, a day, a year, the
// start of a month), so a printer can choose its time layout before the first line.
func (tl *Timeline) Subsecond() bool { return subsecond(reflect.ValueOf(tl)) }

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	simDuration  = reflect.TypeFor[Duration]()
)

func subsecond(v reflect.Value) bool {
	switch {
	case v.Type() == timeType:
		return v.CanInterface() && v.Interface().(time.Time).Nanosecond() != 0
	case v.Type() == durationType || v.Type() == simDuration:
		return v.Int()%int64(time.Second) != 0
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && subsecond(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && subsecond(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if subsecond(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if subsecond(it.Value()) {
				return true
			}
		}
	}
	return false
}
