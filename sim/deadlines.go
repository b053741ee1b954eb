package sim

import (
	"container/heap"
	"slices"
	"strings"
	"time"

	"tollgate/charge"
)

// The engine fires deadlines in time order across devices and pools. Scanning every
// device and pool for each deadline made a year of a large studio quadratic, so the next
// deadline of each is kept in a heap, recomputed only for what an event touched.
// Entries go stale when their device or pool changes; a stale entry is recognised when
// it reaches the top (its value no longer matches a fresh computation) and dropped.

type due struct {
	at   time.Time
	name string
}

type dueHeap []due

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].name < h[j].name // ties go to the first by name, as a scan in name order would
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// deadlines holds the heaps and what has changed since they were last brought up to date.
type deadlines struct {
	devs, pools   dueHeap
	dirtyDev      map[string]bool
	dirtyPool     map[string]bool
	devNames      []string        // sorted
	poolNames     []string        // sorted
	pendingAlerts map[string]bool // pools whose balance moved since their last alerts
}

// touch marks a device whose meter or clocks changed.
func (e *engine) touch(d *device) { e.dl.dirtyDev[d.name] = true }

// touchPool marks a pool whose packs changed.
func (e *engine) touchPool(p *charge.Pool) { e.dl.dirtyPool[p.Team] = true }

// moved marks a pool whose balance changed without its alerts being checked.
func (e *engine) moved(p *charge.Pool) { e.dl.pendingAlerts[p.Team] = true }

// deviceDue is when device d next needs attention in true time.
func (e *engine) deviceDue(d *device) (time.Time, bool) {
	n, ok := d.meter.Next()
	if x, nightly := e.nightlyDue(d); nightly && (!ok || x.Before(n)) {
		n, ok = x, true
	}
	if !ok || d.asleep {
		return time.Time{}, false
	}
	at := d.lastTrue.Add(n.Sub(d.meter.Now()))
	if at.Before(d.lastTrue) {
		at = d.lastTrue
	}
	return at, true
}

func (e *engine) refresh() {
	for name := range e.dl.dirtyDev {
		if at, ok := e.deviceDue(e.devices[name]); ok {
			heap.Push(&e.dl.devs, due{at, name})
		}
	}
	clear(e.dl.dirtyDev)
	for team := range e.dl.dirtyPool {
		if x, ok := e.pools[team].NextExpiry(e.now); ok {
			heap.Push(&e.dl.pools, due{x, team})
		}
	}
	clear(e.dl.dirtyPool)
}

// nextDevice is the device with the earliest deadline, dropping stale entries.
func (e *engine) nextDevice() (due, bool) {
	for len(e.dl.devs) > 0 {
		top := e.dl.devs[0]
		if at, ok := e.deviceDue(e.devices[top.name]); ok && at.Equal(top.at) {
			return top, true
		}
		heap.Pop(&e.dl.devs) // stale: the device's current deadline has an entry of its own
	}
	return due{}, false
}

// nextPool is the pool with the earliest pack expiry after now. A pool's next expiry only
// moves later as time passes, so a stale entry is replaced by its fresh value.
func (e *engine) nextPool() (due, bool) {
	for len(e.dl.pools) > 0 {
		top := e.dl.pools[0]
		x, ok := e.pools[top.name].NextExpiry(e.now)
		if ok && x.Equal(top.at) {
			return top, true
		}
		heap.Pop(&e.dl.pools)
		if ok {
			heap.Push(&e.dl.pools, due{x, top.name})
		}
	}
	return due{}, false
}

func (e *engine) addDeviceName(name string) {
	i, _ := slices.BinarySearchFunc(e.dl.devNames, name, strings.Compare)
	e.dl.devNames = slices.Insert(e.dl.devNames, i, name)
}
