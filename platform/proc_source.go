package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/process"
	"go.uber.org/zap"
)

// The process source tells the agent which processes start and exit. It keeps a table of the
// processes it has seen, keyed by pid, and on each scan lists pids only (the cheapest thing
// each OS offers), reading a process's details once, when its pid first appears or turns out to
// belong to a new process. Where the kernel reports exec and exit as events (Linux), those are
// applied as they come and the scan runs rarely, as a safety net.
//
// Use:
//
//	src := platform.NewSource(platform.SourceOptions{Filter: catalogue.MayBeProduct, Logger: log})
//	go src.Run(ctx, 0, func(d platform.Diff) { ... }) // owned and waited for like any other agent goroutine

// Modes of a running Source, as Mode reports them.
const (
	ModeConnector = "connector" // kernel process events, with a slow safety scan
	ModePoll      = "poll"      // a scan every interval
)

const (
	procDefaultPoll   = 500 * time.Millisecond
	procDefaultSafety = 10 * time.Second
)

// ErrNoConnector means the OS gives this process no process events; Run then polls.
var ErrNoConnector = errors.New("process events unavailable")

// errProcGone means a process exited, or is exiting, while it was being read; the source
// forgets it without a word, as the process table changes under every reader.
var errProcGone = errors.New("process gone")

// SourceOptions configures NewSource. The zero value reads every process and logs nothing.
type SourceOptions struct {
	// Filter, when set, is given the name of each new process (as Process.Name, but maybe cut
	// short: 15 bytes on Linux, 16 on macOS) before anything else about it is read. Processes
	// it rejects are tracked, so they are not read again, but never reported, neither when they
	// start nor when they exit; one that later runs another program by exec is asked about
	// again.
	Filter func(name string) bool
	// SafetyPoll is how often the process table is scanned behind the kernel's process events
	// to catch any the kernel dropped; 0 means 10s.
	SafetyPoll time.Duration
	// Logger receives the source's logs; nil discards them.
	Logger *zap.Logger
	// PollOnly makes Run scan every interval even where kernel process events are
	// available: for comparing the two, and for kernels whose events misbehave.
	PollOnly bool
}

// Source reports processes as they start and exit. Its methods may be called from several
// goroutines; changes are handed out once, to whichever call finds them.
type Source struct {
	filter     func(string) bool
	pollOnly   bool
	safetyPoll time.Duration
	log        *zap.Logger
	mode       atomic.Value  // string
	interval   atomic.Int64  // poll interval set by Retune, in ns; 0: Run's argument
	retuned    chan struct{} // Retune asks Run for a scan under the new filter

	mu     sync.Mutex
	rd     procReader
	procs  map[int32]*procTracked
	listed []procListed // reused by every scan
	gen    uint32       // counts scans, to find the tracked processes a scan did not list
}

// procReader is what a Source needs from the OS. Its methods run under the Source's lock and
// may keep what the last list call read for the other methods to use.
type procReader interface {
	// list appends every running process to dst, as cheaply as the OS allows.
	list(dst []procListed) ([]procListed, error)
	// created returns l's create time, or errProcGone if it has exited or is exiting.
	created(ctx context.Context, l procListed) (int64, error)
	// name returns l's name, cut short as the OS keeps it.
	name(ctx context.Context, l procListed) (string, error)
	// execd reports whether l, the process t describes, now runs another program. Every scan
	// asks it of every process: exec keeps the pid and create time, and a wrapper may exec
	// the product at any moment of its life (`sh -c 'sleep 3; exec AutoCAD'`), so it must be
	// cheap: the name the listing holds on macOS, one read of /proc/PID/comm on Linux.
	execd(ctx context.Context, l procListed, t *procTracked) bool
	// details reads what else a Process holds, or returns errProcGone if key has exited.
	details(ctx context.Context, key ProcKey, name string, l procListed) (Process, error)
}

// procListed is one process as a listing shows it.
type procListed struct {
	pid int32
	// hint changes whenever the pid passes to another process: the create time where the
	// listing shows it, the inode of /proc/PID on Linux (and 0 when unknown). Equal hints spare
	// reading the create time.
	hint    uint64
	created int64 // create time, where the listing shows it
	idx     int   // where the reader keeps the rest of the entry, if anywhere
}

// procTracked is what the source remembers about a running process.
type procTracked struct {
	key      ProcKey
	hint     uint64
	comm     string // the name as read when the process was first seen or last exec'd
	exe      string // Process.Exe, if it was read
	reported bool   // Started was handed out, so Exited must be
	replay   bool   // Retune asked for Started again: the caller's idea of a product changed
	gen      uint32
}

// NewSource returns a source that has seen no process yet: its first Scan reports every
// running process as started.
func NewSource(opts SourceOptions) *Source {
	// gopsutil computes every create time from the boot time and re-reads that on each call
	// unless told to keep it. The setting is gopsutil's global; setting it again is harmless.
	host.EnableBootTimeCache(true)
	process.EnableBootTimeCache(true)
	return newSource(opts, newProcOS())
}

func newSource(opts SourceOptions, rd procReader) *Source {
	s := &Source{
		filter:     opts.Filter,
		pollOnly:   opts.PollOnly,
		safetyPoll: opts.SafetyPoll,
		log:        opts.Logger,
		rd:         rd,
		procs:      make(map[int32]*procTracked),
		retuned:    make(chan struct{}, 1),
	}
	if s.safetyPoll <= 0 {
		s.safetyPoll = procDefaultSafety
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.Named("procs")
	return s
}

// Mode reports how Run is watching: ModeConnector, ModePoll, or "" when Run is not running.
func (s *Source) Mode() string {
	m, _ := s.mode.Load().(string)
	return m
}

// Retune swaps in a new filter and poll interval, as on a config push, and has Run scan at
// once: every running process is reported as started again (the caller's catalogue
// changed, so one it passed over may be a product now), and those the old filter passed
// over are read again under the new one. A process reported before stays tracked, so its
// exit is still reported. Run hands the scan out like any other diff, on its own
// goroutine, so a start is never delivered after its exit. interval <= 0 keeps the
// interval Run was given.
func (s *Source) Retune(filter func(string) bool, interval time.Duration) {
	s.mu.Lock()
	s.filter = filter
	for pid, t := range s.procs {
		if t.reported {
			t.replay = true
		} else {
			delete(s.procs, pid)
		}
	}
	s.mu.Unlock()
	s.interval.Store(int64(interval))
	select {
	case s.retuned <- struct{}{}:
	default:
	}
}

// Scan lists the running processes and returns the changes since the last look.
func (s *Source) Scan(ctx context.Context) (Diff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Diff
	err := s.scanLocked(ctx, &d)
	return d, err
}

// Run hands the changes in the process table to fn until ctx ends, then returns nil. Where the
// kernel reports process events (Linux) it applies them as they come and scans every
// SafetyPoll behind them; elsewhere, or when the kernel refuses, it scans every interval
// (0 means 500ms). fn runs on Run's goroutine, only for non-empty diffs; the first holds every
// process that was running when Run started (or that no earlier Scan reported). Run returns
// an error only when the first scan fails; it logs later errors and carries on.
func (s *Source) Run(ctx context.Context, interval time.Duration, fn func(Diff)) error {
	if d := time.Duration(s.interval.Load()); d > 0 {
		interval = d
	}
	if interval <= 0 {
		interval = procDefaultPoll
	}
	if s.pollOnly {
		return s.poll(ctx, interval, fn)
	}
	err := s.Watch(ctx, fn)
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, ErrNoConnector) {
		s.log.Info("polling processes", zap.Duration("interval", interval), zap.Error(err))
	} else {
		s.log.Warn("process events failed; polling processes", zap.Duration("interval", interval), zap.Error(err))
	}
	return s.poll(ctx, interval, fn)
}

func (s *Source) poll(ctx context.Context, interval time.Duration, fn func(Diff)) error {
	s.mode.Store(ModePoll)
	defer s.mode.Store("")
	if err := s.deliverScan(ctx, fn, true); err != nil {
		return err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.retuned:
			if d := time.Duration(s.interval.Load()); d > 0 && d != interval {
				interval = d
				t.Reset(interval)
			}
			if err := s.deliverScan(ctx, fn, false); err != nil {
				s.log.Warn("scanning processes", zap.Error(err))
			}
		case <-t.C:
			if err := s.deliverScan(ctx, fn, false); err != nil {
				s.log.Warn("scanning processes", zap.Error(err))
			}
		}
	}
}

// deliverScan scans and hands fn the diff; an empty one only when first, and never after a
// failed first scan (Run returns that error instead).
func (s *Source) deliverScan(ctx context.Context, fn func(Diff), first bool) error {
	d, err := s.Scan(ctx)
	if first && err != nil {
		return err
	}
	if first || !d.Empty() {
		fn(d)
	}
	return err
}

func (s *Source) scanLocked(ctx context.Context, d *Diff) error {
	listed, err := s.rd.list(s.listed[:0])
	s.listed = listed
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	s.gen++
	seen := 0 // tracked processes this scan listed
	for _, l := range listed {
		t := s.procs[l.pid]
		if t == nil {
			if s.learnNew(ctx, d, l) {
				seen++
			}
			continue
		}
		if t.hint != l.hint {
			created, err := s.rd.created(ctx, l)
			if err != nil {
				s.skip(l.pid, err)
				continue // not marked seen: forgotten below
			}
			if created != t.key.Created {
				s.forget(d, t)
				if s.learn(ctx, d, l, created) {
					seen++
				}
				continue
			}
			t.hint = l.hint
		}
		t.gen = s.gen
		if s.rd.execd(ctx, l, t) {
			s.forget(d, t)
			if s.learn(ctx, d, l, t.key.Created) {
				seen++
			}
			continue
		}
		if t.replay {
			t.replay = false
			if p, err := s.rd.details(ctx, t.key, t.comm, l); err == nil {
				d.Started = append(d.Started, p)
			}
		}
		seen++
	}
	if seen < len(s.procs) {
		for _, t := range s.procs {
			if t.gen != s.gen {
				s.forget(d, t)
			}
		}
	}
	return nil
}

func (s *Source) learnNew(ctx context.Context, d *Diff, l procListed) bool {
	created, err := s.rd.created(ctx, l)
	if err != nil {
		s.skip(l.pid, err)
		return false
	}
	return s.learn(ctx, d, l, created)
}

// learn starts tracking the process l with the given create time, and reports it unless the
// filter rejects it. It returns whether the process is tracked.
func (s *Source) learn(ctx context.Context, d *Diff, l procListed, created int64) bool {
	name, err := s.rd.name(ctx, l)
	if err != nil {
		s.skip(l.pid, err)
		return false
	}
	key := ProcKey{PID: l.pid, Created: created}
	t := &procTracked{key: key, hint: l.hint, comm: name, gen: s.gen}
	s.procs[l.pid] = t
	if s.filter != nil && !s.filter(name) {
		return true
	}
	p, err := s.rd.details(ctx, key, name, l)
	if err != nil {
		delete(s.procs, l.pid)
		s.skip(l.pid, err)
		return false
	}
	t.exe = p.Exe
	t.reported = true
	d.Started = append(d.Started, p)
	return true
}

// forget stops tracking t and reports its exit if its start was reported. A start still in
// d is withdrawn instead: the process came and went within one diff.
func (s *Source) forget(d *Diff, t *procTracked) {
	delete(s.procs, t.key.PID)
	if !t.reported {
		return
	}
	if i := slices.IndexFunc(d.Started, func(p Process) bool { return p.Key == t.key }); i >= 0 {
		if d.Started = slices.Delete(d.Started, i, i+1); len(d.Started) == 0 {
			d.Started = nil
		}
		return
	}
	d.Exited = append(d.Exited, t.key)
}

func (s *Source) skip(pid int32, err error) {
	if !errors.Is(err, errProcGone) {
		s.log.Debug("skipping process", zap.Int32("pid", pid), zap.Error(err))
	}
}
