package charge

import (
	"container/heap"
	"slices"
	"time"
)

// The meter's bookkeeping is kept proportional to what changes, not to the sessions open
// or the ticks they ran: a terminal server holds a thousand sessions, and a launch must
// not walk all of them, nor a late timer walk all of them at every deadline it passes.
//
//   - Use is counted on one clock for the whole device (a running session gains what the
//     device's monotonic clock gained while it ran), and a session takes its share, with
//     its grace chunks, only when it is looked at (sync): before any change to it.
//   - Deadlines are kept in a heap. A session in grace that runs has a deadline that only
//     moves later as time passes without an event (use added counts at most as the time
//     passed; use leaving the trailing day moves it later), so its key in the heap is a
//     lower bound, made exact when it reaches the top.
//   - Any session changed is marked dirty and re-keyed before the heap is next read.

// tick is a span of use on the device's clock: it ended at end, lasted d, and total is
// the device's use counted up to its end.
type tick struct {
	end   time.Time
	d     time.Duration
	total time.Duration
}

// deadlines is a min-heap of sessions by their key, for container/heap.
type deadlines []*session

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlines) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *deadlines) Push(x any) {
	s := x.(*session)
	s.idx = len(*h)
	*h = append(*h, s)
}

func (h *deadlines) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.idx = -1
	*h = old[:len(old)-1]
	return s
}

// count adds use that ended at end and lasted d to the device's clock.
func (m *Meter) count(end time.Time, d time.Duration) {
	m.clock += d
	if n := len(m.ticks); n > 0 && m.ticks[n-1].end.Equal(end.Add(-d)) {
		m.ticks[n-1].end, m.ticks[n-1].d, m.ticks[n-1].total = end, m.ticks[n-1].d+d, m.clock
		return
	}
	m.ticks = append(m.ticks, tick{end: end, d: d, total: m.clock})
}

// addUse records uncharged use of k that ended at end and lasted d. Use that continues
// the last chunk extends it: the trailing sum is the same, and the chunks stay as few as
// the breaks in use, not as many as the ticks.
func (m *Meter) addUse(k up, end time.Time, d time.Duration) {
	cs := m.used[k]
	if n := len(cs); n > 0 && cs[n-1].end.Equal(end.Add(-d)) {
		cs[n-1].end, cs[n-1].d = end, cs[n-1].d+d
		return
	}
	m.used[k] = append(cs, chunk{end: end, d: d})
}

// sync gives s its share of the device's use since it was last looked at: all of it if
// it ran, in grace chunks too if it was in grace. Call it before any change to s.
func (m *Meter) sync(s *session) {
	if s.mark == m.clock {
		return
	}
	if s.running() {
		s.use += m.clock - s.mark
		if s.state == stGrace {
			i, _ := slices.BinarySearchFunc(m.ticks, s.mark, func(t tick, mark time.Duration) int {
				if t.total <= mark {
					return -1
				}
				return 1
			})
			for _, t := range m.ticks[i:] {
				m.addUse(s.k, t.end, min(t.d, t.total-s.mark))
			}
		}
	}
	s.mark = m.clock
}

// touch syncs s before a change, and has it re-keyed after.
func (m *Meter) touch(s *session) {
	m.sync(s)
	if !s.dirty {
		s.dirty = true
		m.dirty = append(m.dirty, s)
	}
}

// flush re-keys the sessions changed since the heap was last read.
func (m *Meter) flush() {
	for _, s := range m.dirty {
		s.dirty = false
		var d time.Time
		ok := m.sessions[s.k] == s
		if ok {
			d, ok = m.deadline(s)
		}
		switch {
		case !ok:
			if s.idx >= 0 {
				heap.Remove(&m.due, s.idx)
			}
		case s.idx >= 0:
			s.at = d
			heap.Fix(&m.due, s.idx)
		default:
			s.at = d
			heap.Push(&m.due, s)
		}
	}
	clear(m.dirty)
	m.dirty = m.dirty[:0]
}

// top is the session with the earliest deadline, its key made exact.
func (m *Meter) top() (*session, bool) {
	m.flush()
	for len(m.due) > 0 {
		s := m.due[0]
		if s.state == stGrace && s.running() {
			if d, _ := m.deadline(s); !d.Equal(s.at) {
				s.at = d
				heap.Fix(&m.due, 0)
				continue
			}
		}
		return s, true
	}
	return nil, false
}

// popDue takes out of the heap every session whose deadline is not after now, synced
// and marked to be re-keyed, in the stable order of their keys.
func (m *Meter) popDue() []*session {
	var due []*session
	for {
		s, ok := m.top()
		if !ok || s.at.After(m.now) {
			break
		}
		heap.Pop(&m.due)
		due = append(due, s)
	}
	for _, s := range due {
		m.touch(s)
	}
	slices.SortFunc(due, func(a, b *session) int { return upCmp(a.k, b.k) })
	return due
}
