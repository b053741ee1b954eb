package platform

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

const (
	// gateDefaultTimeout bounds a decision when GateOptions.Timeout is zero: long enough for a
	// decision from local state, short enough that a user does not notice it on every launch.
	gateDefaultTimeout = 200 * time.Millisecond

	// gateWorkers answer product execs, so that one slow decision does not hold up others.
	// Execs of anything else are answered by the reader itself, without a queue.
	gateWorkers = 4
	// gateQueue bounds product execs waiting for a worker; past it they are allowed unasked
	// rather than stall the reader, and with it every exec on the watched mounts.
	gateQueue = 256
	// gateMaxDecides bounds Decide calls running at once, counting those that outlived their
	// Timeout: a Decide that never returns costs one goroutine per launch, up to here, after
	// which launches are allowed without asking.
	gateMaxDecides = gateWorkers + 32

	// gateEventLen is the size of struct fanotify_event_metadata, the only record a group
	// without FAN_REPORT_* flags reads.
	gateEventLen = unix.FAN_EVENT_METADATA_LEN
)

// Gate holds execs of product files until Decide has answered, using fanotify permission events
// (FAN_OPEN_EXEC_PERM): a denied exec fails with EPERM before the product's first instruction.
//
// The kernel blocks the exec'ing process until the gate answers, so the gate answers every event
// exactly once and fails open: execs that are not products are allowed at once by the reader,
// decisions are bounded by Timeout, and when Run ends, events still queued are allowed, then the
// fanotify descriptor is closed, on which the kernel allows any event the gate had not read.
// Its own process's execs (pid equal to ours: a re-exec of the agent) are always allowed.
//
// What it cannot see, the process watcher still closes after start: the same file run through
// a hard link from a path outside Paths, programs on mounts added below a watched directory
// after the marks were placed, and bare names.
//
// The process that hosts a Gate must not itself start programs that live on a watched mount
// (with a directory or glob among Paths, that is any program on the same mount, /usr/bin
// included when products live under /opt on the root filesystem). Go starts a program with
// vfork: the parent thread keeps its scheduler slot until the child's exec is answered, so a
// garbage collection that begins meanwhile waits for that thread while the gate waits for the
// collection, and the child keeps a copy of the gate's descriptor, so not even the death of
// the process releases it. The pid check above cannot help: the child has its own pid. A host
// that must start programs runs the gate in a helper process instead.
type Gate struct {
	log     *zap.Logger
	decide  func(GateRequest) bool
	timeout time.Duration
	self    int32
	f       *os.File // the fanotify group; non-blocking, so Run can wake its reader

	rules   atomic.Pointer[gateRules]
	decides sync.WaitGroup // Decide calls, including those that outlived their bound
	running atomic.Int32   // Decide calls not yet returned

	mu    sync.Mutex // guards the fields below and the marks on f; never held on the event path
	state gateState
	marks map[gateMarkKey]gateMark
}

type gateState int

const (
	gateArmed gateState = iota // marks placed, events queue in the kernel until Run reads them
	gateRunning
	gateDone
)

// gateEvent is one permission event read from the group, not yet answered.
type gateEvent struct {
	fd  int // the file being executed, opened for us by the kernel; the event's identity
	pid int32
	exe string
}

// NewGate creates the fanotify group, checks that the kernel delivers exec permission events,
// and marks Paths. Its error says why the gate is unavailable (it needs CAP_SYS_ADMIN in the
// initial user namespace and Linux >= 5.0); the caller then closes denied launches after start.
//
// Like a listening socket before Serve, the gate is armed once NewGate returns: product execs
// wait in the kernel until Run answers them, so Run must follow (with a done context, Run just
// releases them). A path that cannot be marked is logged and the others are gated.
func NewGate(opts GateOptions) (*Gate, error) {
	if opts.Decide == nil {
		return nil, errors.New("gate needs a Decide function")
	}
	if _, _, err := gateRulesFor(opts.Paths); err != nil {
		return nil, err
	}
	g := &Gate{
		log:     opts.Logger,
		decide:  opts.Decide,
		timeout: opts.Timeout,
		self:    int32(os.Getpid()),
	}
	if g.log == nil {
		g.log = zap.NewNop()
	}
	g.log = g.log.Named("gate")
	if g.timeout <= 0 {
		g.timeout = gateDefaultTimeout
	}

	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK,
		unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, gateInitError("fanotify_init", err)
	}
	// fanotify_init accepts FAN_CLASS_CONTENT on kernels that predate FAN_OPEN_EXEC_PERM; only a
	// mark asks for it. The root directory never sees an exec of itself, so the probe mark
	// costs nothing while it lives.
	err = unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_EXEC_PERM, unix.AT_FDCWD, "/")
	if err == nil {
		err = unix.FanotifyMark(fd, unix.FAN_MARK_REMOVE, unix.FAN_OPEN_EXEC_PERM, unix.AT_FDCWD, "/")
	}
	if err != nil {
		unix.Close(fd)
		return nil, gateInitError("fanotify_mark FAN_OPEN_EXEC_PERM", err)
	}
	g.f = os.NewFile(uintptr(fd), "fanotify")
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.setMarksLocked(opts.Paths); err != nil {
		// One path that cannot be watched must not ungate the others.
		g.log.Error("some product paths are not gated; their launches are closed after start", zap.Error(err))
	}
	return g, nil
}

func gateInitError(op string, err error) error {
	var why string
	switch {
	case errors.Is(err, unix.EPERM):
		why = "not permitted: fanotify permission events need CAP_SYS_ADMIN in the initial user namespace (run the agent as root, outside containers)"
	case errors.Is(err, unix.EINVAL):
		why = "kernel " + gateKernel() + " does not offer fanotify exec permission events (FAN_OPEN_EXEC_PERM needs Linux >= 5.0 with CONFIG_FANOTIFY_ACCESS_PERMISSIONS)"
	case errors.Is(err, unix.ENOSYS):
		why = "kernel " + gateKernel() + " is built without fanotify"
	default:
		why = "unavailable"
	}
	return fmt.Errorf("pre-exec gate %s; denied launches are closed after start: %s: %w", why, op, err)
}

func gateKernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "(unknown)"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Run answers permission events until ctx is done, then answers what is left, closes the
// fanotify descriptor and waits for Decide calls still running (after their execs were
// answered). It returns nil on shutdown and an error if reading events fails; either way no exec
// is left waiting on the gate. Run may be called once.
func (g *Gate) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.state != gateArmed {
		g.mu.Unlock()
		return errors.New("gate: Run called twice")
	}
	g.state = gateRunning
	g.mu.Unlock()

	jobs := make(chan gateEvent, gateQueue)
	var workers sync.WaitGroup
	for range gateWorkers {
		workers.Go(func() { g.work(ctx, jobs) })
	}
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(woken)
		// Wakes the reader; the descriptor stays open until the queue is answered.
		if err := g.f.SetReadDeadline(time.Now()); err != nil {
			g.log.Error("waking the event reader", zap.Error(err))
		}
	})
	err := g.read(ctx, jobs)
	if !stop() {
		<-woken // a wake-up in flight must not touch the descriptor once it is closed
	}
	close(jobs)
	workers.Wait()
	g.close()
	g.decides.Wait()
	return err
}

// SetPaths replaces the product paths, as on a config reload, watching new paths before
// unwatching old ones. A path that is not absolute or not a valid pattern rejects the list and
// changes nothing; otherwise the paths that can be watched are, and the error names those that
// could not.
func (g *Gate) SetPaths(paths []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == gateDone {
		return errors.New("gate: SetPaths after Run returned")
	}
	return g.setMarksLocked(paths)
}

// setMarksLocked swaps in the rules for paths, then moves the marks to them. Rules first: an
// event from a new mark is then matched against the new paths.
func (g *Gate) setMarksLocked(paths []string) error {
	rules, targets, err := gateRulesFor(paths)
	if err != nil {
		return err
	}
	g.rules.Store(rules)
	want, wantErr := gateMarkSet(targets)
	var held map[gateMarkKey]gateMark
	var markErr error
	rc, err := g.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("gate marks: %w", err)
	}
	if err := rc.Control(func(fd uintptr) {
		held, markErr = gateUpdateMarks(int(fd), g.marks, want)
	}); err != nil {
		return fmt.Errorf("gate marks: %w", err)
	}
	g.marks = held
	return errors.Join(wantErr, markErr)
}

func (g *Gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = gateDone
	g.marks = nil
	if err := g.f.Close(); err != nil {
		g.log.Error("closing the fanotify group", zap.Error(err))
	}
}

// read dispatches events until ctx is done. Every event it reads is answered or queued.
func (g *Gate) read(ctx context.Context, jobs chan<- gateEvent) error {
	buf := make([]byte, 256*gateEventLen)
	var starved time.Duration // the wait before reading again while descriptors run out
	for {
		n, err := g.f.Read(buf)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// The kernel could not open the exec's file for us and denied that exec
				// itself; the next ones may fare better once descriptors are freed. Giving
				// up here would leave every later launch ungated.
				if starved == 0 {
					g.log.Warn("out of file descriptors reading exec events; retrying", zap.Error(err))
				}
				starved = min(max(2*starved, 5*time.Millisecond), time.Second)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(starved):
				}
				continue
			}
			return fmt.Errorf("reading fanotify events: %w", err)
		}
		starved = 0
		for b := buf[:n]; len(b) >= gateEventLen; {
			// struct fanotify_event_metadata: event_len u32, vers u8, reserved u8,
			// metadata_len u16, mask u64, fd s32, pid s32.
			size := int(binary.NativeEndian.Uint32(b[0:4]))
			if b[4] != unix.FANOTIFY_METADATA_VERSION || size < gateEventLen || size > len(b) {
				// Closing the group (Run does) allows what could not be parsed.
				return fmt.Errorf("fanotify event of version %d, length %d: want version %d",
					b[4], size, unix.FANOTIFY_METADATA_VERSION)
			}
			fd := int(int32(binary.NativeEndian.Uint32(b[16:20])))
			pid := int32(binary.NativeEndian.Uint32(b[20:24]))
			b = b[size:]
			if fd < 0 {
				continue // FAN_NOFD: a queue overflow, which permission events never cause
			}
			g.dispatch(gateEvent{fd: fd, pid: pid}, jobs)
		}
	}
}

// dispatch answers ev at once unless it is a product exec, which it queues for a worker.
func (g *Gate) dispatch(ev gateEvent, jobs chan<- gateEvent) {
	if ev.pid == g.self {
		g.answer(ev, true)
		return
	}
	exe, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(ev.fd))
	if err != nil {
		g.log.Warn("naming an exec; allowed", zap.Int32("pid", ev.pid), zap.Error(err))
		g.answer(ev, true)
		return
	}
	ev.exe = exe
	if !g.rules.Load().match(exe) {
		g.answer(ev, true)
		return
	}
	select {
	case jobs <- ev:
	default:
		g.log.Error("too many launches waiting for a decision; allowed", zap.Int32("pid", ev.pid), zap.String("exe", exe))
		g.answer(ev, true)
	}
}

func (g *Gate) work(ctx context.Context, jobs <-chan gateEvent) {
	for ev := range jobs {
		if ctx.Err() != nil {
			g.answer(ev, true)
			continue
		}
		g.answer(ev, g.decideBounded(ctx, GateRequest{PID: ev.pid, Exe: ev.exe}))
	}
}

// decideBounded runs Decide for at most the timeout, failing open after it or on shutdown.
// Decide runs on its own goroutine because nothing can interrupt it: one that overruns keeps
// running, and Run waits for it once every exec has been answered.
func (g *Gate) decideBounded(ctx context.Context, req GateRequest) bool {
	log := g.log.With(zap.Int32("pid", req.PID), zap.String("exe", req.Exe))
	if g.running.Add(1) > gateMaxDecides {
		g.running.Add(-1)
		log.Error("decisions are stuck; launch allowed")
		return true
	}
	res := make(chan bool, 1)
	g.decides.Go(func() {
		defer g.running.Add(-1)
		res <- g.decide(req)
	})
	t := time.NewTimer(g.timeout)
	defer t.Stop()
	select {
	case ok := <-res:
		if !ok {
			log.Info("launch refused")
		}
		return ok
	case <-t.C:
		log.Error("decision timed out; launch allowed (fail open)", zap.Duration("timeout", g.timeout))
		return true
	case <-ctx.Done():
		log.Info("shutting down; launch allowed")
		return true
	}
}

// answer tells the kernel whether the exec of ev may go on, and releases the event's file.
func (g *Gate) answer(ev gateEvent, allow bool) {
	resp := uint32(unix.FAN_DENY)
	if allow {
		resp = unix.FAN_ALLOW
	}
	var b [8]byte // struct fanotify_response: fd s32, response u32
	binary.NativeEndian.PutUint32(b[0:4], uint32(int32(ev.fd)))
	binary.NativeEndian.PutUint32(b[4:8], resp)
	if _, err := g.f.Write(b[:]); err != nil {
		g.log.Error("answering an exec", zap.Int32("pid", ev.pid), zap.String("exe", ev.exe), zap.Error(err))
	}
	if err := unix.Close(ev.fd); err != nil {
		g.log.Error("closing an exec's file", zap.Int32("pid", ev.pid), zap.Error(err))
	}
}
