package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	tclock "tollgate/clock"
	"tollgate/config"
	"tollgate/platform"
)

// ProcSource reports processes starting and exiting; platform.Source is the real one.
type ProcSource interface {
	Run(ctx context.Context, interval time.Duration, fn func(platform.Diff)) error
	Mode() string
}

// Options configures an Agent. Zero values mean the real thing.
type Options struct {
	ConfigFile string      // default: platform.DefaultPaths().ConfigFile
	StateDir   string      // the journal's folder; default platform.DefaultPaths().StateDir
	Socket     string      // the local API; default platform.DefaultPaths().Socket
	Logger     *zap.Logger // default: as the config's log section says
	// Clock is the time and the timers of the meter, the tick, the ledger sync and the
	// journal retry; default: the machine's. platform.FileClock is an admin's test clock.
	Clock  tclock.Clock
	Source ProcSource // default: platform.NewSource
	// Terminate closes a process: asked first, killed after grace. Default platform.Terminate.
	Terminate func(ctx context.Context, key platform.ProcKey, grace time.Duration) (platform.Ending, error)
	// Gate turns on the pre-exec gate where the OS allows it (Linux fanotify).
	Gate bool
	// PollOnly scans the process table every poll interval even where the kernel's
	// process events are available.
	PollOnly bool
	// CloseGrace is how long a denied process is given to close before it is killed; 2s.
	CloseGrace time.Duration
	// AskClose asks a process to close, the polite way only, for idleness. Default
	// platform.AskToClose.
	AskClose func(ctx context.Context, key platform.ProcKey) error
	// CPUEvery is how often the products' CPU time is sampled for idleness; 1 minute.
	CPUEvery time.Duration
	// RetryMax caps the wait between attempts to reach the ledger; DefaultRetryMax.
	RetryMax time.Duration
	// LogTee also receives the agent's warnings and errors: the OS's service log (the
	// Windows event log) when it runs as a service.
	LogTee zapcore.Core
	// OnConfig is called with each configuration the agent takes, the first included: on
	// Windows it keeps the launch gate's entries in step with the catalogue.
	OnConfig func(cfg *config.Config, log *zap.Logger)
	// Version is what the agent reports to the ledger; default: the build's module version.
	Version string
}

// Agent is the daemon. New prepares it; Run runs it until its context ends.
type Agent struct {
	// Set in New and never reassigned, so every goroutine reads them without a lock; those
	// whose insides change (the watcher, the process source, the journal, the entitlements,
	// the link) guard themselves.
	opts    Options
	log     *zap.Logger
	level   *zap.AtomicLevel
	watcher *config.Watcher
	src     ProcSource
	journal *journal.Journal
	ents    *entitlements
	device  string

	link     *link        // the ledger, when the config names one; a push re-points it in place
	offset   atomic.Int64 // ledger time minus this machine's wall clock, in ns
	offsetMu sync.Mutex   // held while an answer of the ledger corrects offset (refresh)
	// monoBase carries the monotonic clock on from the last reading the journal holds: a
	// monotonic clock counts from an arbitrary origin (the process's start, the boot), so a
	// new process's readings are comparable with its predecessor's only once rebased. The
	// time the agent was down thus counts as no use. Set in New, read-only after.
	monoBase time.Duration
	kick     chan struct{} // wakes the sync loop: something was journaled
	waking   atomic.Bool   // the meter sleeps while the ledger is asked about the products to wake
	synced   atomic.Value  // string: every outbox entry up to this id has the ledger's answer
	reported since         // when the running sync loop last reported the backlog; that loop's alone

	// swap is held for reading by each launch decision, from its first look at the
	// catalogue to its answer, and for writing while a push is swapped in.
	swap sync.RWMutex
	// reconf serialises pushes (the watcher's, `tollgate reload`); it guards syncStop.
	reconf    sync.Mutex
	syncStop  func()             // stops the sync loop of the current link, and waits
	loops     sync.WaitGroup     // sync loops, each started by Run or a push
	tickEvery chan time.Duration // a push's poll interval, for tick
	boot      *config.Config     // the config the agent started with, for what needs a restart

	reportsMu sync.Mutex
	reports   map[string]time.Time // users' last idleness reports, by the real clock (takeReport)

	// mu guards everything below. The goroutines that feed the meter write it: the process
	// source (onDiff), the tick (advance), the gate's decisions, the journal retry, the
	// sync loop's answers and a push (apply). The local API only reads it, through the
	// exported Status, Check, Messages and Subscribe, which copy out what they return.
	mu        sync.Mutex
	cfg       *config.Config
	gateH     gateHandle // the running pre-exec gate; nil when off
	meter     *charge.Meter
	tracked   map[string]platform.ProcKey // processes of products, by meter id
	first     bool                        // the next process diff is the first after start
	lastRead  charge.Reading
	lastSaved time.Time
	inputs    uint64
	messages  []localapi.Message
	subs      map[chan localapi.Message]string // subscriber -> licensing user ("" = all)
	rollbacks int
	warnedLow map[string]bool          // teams whose users were told tokens run low
	preCharge map[string]time.Duration // users asked about just before their grace charge, by when (Agent.elapsed)
	closing   sync.WaitGroup           // terminations under way
	nightSeen time.Time                // the last reading the nightly close was looked for up to
	runCtx    context.Context
	cancel    context.CancelCauseFunc
	gateOn    bool
	gateErr   string

	unwritten    []unwritten // inputs the journal could not take yet, in order
	journalErr   error       // why the journal cannot be written; nil when it can
	journalSince time.Time
	damages      []journal.Damage // repairs of the journal, for status
}

const (
	heartbeat = time.Minute // how often an uneventful tick is journaled, for the clock's high-water mark
	// heartbeatRunning is how often it is journaled while a product runs: a product that
	// exits while the agent is down is taken to have ended at the last journaled instant,
	// so at most this much of its use goes unmetered.
	heartbeatRunning = 10 * time.Second
	checkpointEvery  = 500 // inputs between checkpoints of the meter
	keepSent         = 7 * 24 * time.Hour
	keepMessages     = 200
	sleepGap         = 30 * time.Second // wall time passing this much faster than monotonic time means the machine slept
	wakeAsk          = 5 * time.Second  // how long a wake waits for the ledger before deciding from the last snapshot
)

// New loads the configuration, opens the journal and rebuilds the meter from it. A
// configuration that does not load is an error here: the agent never starts on a guess.
func New(opts Options) (*Agent, error) {
	paths := platform.DefaultPaths()
	if opts.ConfigFile == "" {
		opts.ConfigFile = paths.ConfigFile
	}
	if opts.StateDir == "" {
		opts.StateDir = paths.StateDir
	}
	if opts.Socket == "" {
		opts.Socket = paths.Socket
	}
	opts.Clock = tclock.Or(opts.Clock)
	if opts.Terminate == nil {
		opts.Terminate = platform.Terminate
	}
	if opts.CloseGrace == 0 {
		opts.CloseGrace = 2 * time.Second
	}
	if opts.AskClose == nil {
		opts.AskClose = platform.AskToClose
	}
	if opts.CPUEvery <= 0 {
		opts.CPUEvery = time.Minute
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.Version == "" {
		opts.Version = buildVersion()
	}
	cfg, err := config.Load(opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: opts, cfg: cfg, tracked: map[string]platform.ProcKey{}, subs: map[chan localapi.Message]string{}, first: true, warnedLow: map[string]bool{}, preCharge: map[string]time.Duration{},
		kick: make(chan struct{}, 1), tickEvery: make(chan time.Duration, 1), boot: cfg}
	a.synced.Store("")
	a.log = opts.Logger
	if a.log == nil {
		l, lvl, err := config.NewLogger(cfg.Log)
		if err != nil {
			return nil, err
		}
		a.log, a.level = l, &lvl
	}
	if opts.LogTee != nil {
		if tee, err := zapcore.NewIncreaseLevelCore(opts.LogTee, zapcore.WarnLevel); err == nil {
			a.log = zap.New(zapcore.NewTee(a.log.Core(), tee))
		}
	}
	a.log = a.log.Named("agent")
	a.watcher, err = config.NewWatcher(config.WatchOptions{MainFile: opts.ConfigFile, Logger: a.log, Level: a.level, Clock: opts.Clock})
	if err != nil {
		return nil, err
	}
	a.journal, err = journal.Open(filepath.Join(opts.StateDir, "journal.db"))
	if err != nil {
		return nil, err
	}
	if d := a.journal.Damaged(); d != nil {
		a.log.Error("journal damaged and repaired", zap.String("problem", d.Problem), zap.String("kept_at", d.KeptAt),
			zap.String("recovered", d.Recovered), zap.String("lost", d.Lost), zap.String("todo", d.Todo))
	}
	if a.damages, err = a.journal.Damages(); err != nil {
		a.journal.Close()
		return nil, err
	}
	if err := a.restore(); err != nil {
		a.journal.Close()
		return nil, err
	}
	if last, ok := a.meter.Last(); ok {
		a.monoBase = last.Mono - readClock(opts.Clock).Mono
	}
	if cfg.Ledger.URL != "" {
		if a.link, err = newLink(cfg); err != nil {
			a.journal.Close()
			return nil, err
		}
	}
	a.src = a.source()
	if opts.OnConfig != nil {
		opts.OnConfig(cfg, a.log)
	}
	return a, nil
}

// restore rebuilds the meter: the last checkpoint, then every input since, with the
// answers it was given then; and what it knew of entitlements.
func (a *Agent) restore() error {
	dev, err := a.journal.Device(newDeviceID)
	if err != nil {
		return err
	}
	a.device = dev
	st, ins, err := a.journal.Load()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if st != nil {
		a.meter = charge.Restore(*st)
	} else {
		a.meter = charge.NewMeter(dev, a.policy(a.cfg))
	}
	for _, in := range ins {
		rp := &replayer{answers: in.Answers}
		switch in.Kind {
		case journal.Start:
			a.meter.Start(in.Reading, in.Proc, rp)
		case journal.Exit:
			a.meter.Exit(in.Reading, in.Proc.ID, rp)
		case journal.Advance:
			a.meter.Advance(in.Reading, rp)
		case journal.Sleep:
			a.meter.Sleep(in.Reading, rp)
		case journal.Wake:
			a.meter.Wake(in.Reading, rp)
		case journal.Learn:
			a.meter.Learn(in.Window)
		case journal.Recheck:
			a.meter.Recheck(in.Reading, in.Proc.User, rp)
		case journal.Policy:
			a.meter.SetPolicy(in.Policy)
		case journal.InputIdle:
			a.meter.Input(in.Reading, in.Proc.User, in.Idle, rp)
		case journal.Busy:
			a.meter.Busy(in.Reading, in.Proc.User, in.Proc.Product, rp)
		case journal.Nightly:
			a.meter.Nightly(in.Reading, in.At, rp)
		default:
			return fmt.Errorf("journal input %d: unknown kind %q", in.Seq, in.Kind)
		}
		if rp.short || len(rp.answers) > 0 {
			return fmt.Errorf("journal input %d (%s) does not replay as it was recorded: the journal is damaged; move %s aside to start afresh (unsent charges in it would be lost)", in.Seq, in.Kind, a.opts.StateDir)
		}
		a.inputs = in.Seq
	}
	a.lastRead, _ = a.meter.Last()
	for _, p := range append(a.meter.Procs(), a.meter.Asleep()...) {
		key, err := parseProcKey(p.ID)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		a.tracked[p.ID] = key
	}
	a.meter.SetPolicy(a.policy(a.cfg))

	a.ents = newEntitlements(a.cfg.EntitlementFile != "", catalogue(a.cfg))
	if a.cfg.EntitlementFile != "" {
		snap, err := LoadSnapshot(a.cfg.EntitlementFile)
		if err != nil {
			return err
		}
		a.ents.loadFile(snap)
	} else {
		if err := a.restoreSnapshots(); err != nil {
			return err
		}
	}
	entries, err := a.journal.Entries()
	if err != nil {
		return err
	}
	a.ents.restore(entries)
	a.log.Info("journal replayed", zap.String("device", dev), zap.Int("inputs", len(ins)), zap.Int("sessions", len(a.meter.Sessions())))
	return nil
}

// catalogue is every configured product at rate 0: what the agent knows of products
// before any snapshot, so that a launch it cannot ask about is denied as offline rather
// than as an unknown product.
func catalogue(cfg *config.Config) map[string]int64 {
	out := map[string]int64{}
	for _, p := range cfg.Products {
		out[p.ID] = 0
	}
	return out
}

func (a *Agent) policy(cfg *config.Config) charge.Policy {
	p := charge.Policy{RenewalWhenEmpty: charge.WhenEmpty(cfg.Policy.RenewalWhenEmpty), CloseAfter: cfg.Policy.CloseAfter, OfflineMaxAge: cfg.Policy.OfflineMaxAge,
		RenewalWhenIdle: charge.WhenIdle(cfg.Policy.RenewalWhenIdle), IdleAfter: cfg.Policy.IdleAfter}
	if p.OfflineMaxAge == 0 {
		p.OfflineMaxAge = 100 * 365 * 24 * time.Hour // "0 means never offline"
	}
	return p
}

func newDeviceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%s", host, hex.EncodeToString(b))
}

// Run runs the agent until ctx ends: the config watcher, the process source, the clock's
// ticks, the local API and, where allowed, the pre-exec gate. It returns the first fatal
// error (a journal that cannot be written), after stopping everything it started.
func (a *Agent) Run(ctx context.Context) error {
	defer a.journal.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a.mu.Lock()
	a.runCtx, a.cancel = ctx, cancel
	a.mu.Unlock()

	api, err := a.serveAPI()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				a.log.Error(name+" stopped", zap.Error(err))
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}
	run("config watcher", a.watcher.Run)
	run("config updates", a.followConfig)
	run("local API", func(context.Context) error { return api.Serve() })
	run("clock", a.tick)
	run("cpu", a.watchCPU)
	run("journal retry", a.retryJournal)
	run("process source", func(ctx context.Context) error {
		return a.src.Run(ctx, a.config().Policy.PollInterval, a.onDiff)
	})
	if a.opts.Gate {
		run("pre-exec gate", a.gate)
	}
	if a.link != nil {
		a.reconf.Lock()
		a.startSync()
		a.reconf.Unlock()
	}
	a.log.Info("agent running", zap.String("device", a.device), zap.String("socket", a.opts.Socket))
	<-ctx.Done()
	api.Close()
	wg.Wait()
	a.loops.Wait()
	a.closing.Wait()
	a.mu.Lock()
	if len(a.unwritten) > 0 {
		a.flush()
	}
	if n := len(a.unwritten); n > 0 {
		a.log.Error("stopping with records the journal could not take; at the next start running products are seen again and metered from then",
			zap.Int("records", n), zap.String("why", journalProblem(a.journalErr)))
	}
	a.checkpoint()
	a.mu.Unlock()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (a *Agent) source() ProcSource {
	if a.opts.Source != nil {
		return a.opts.Source
	}
	return platform.NewSource(platform.SourceOptions{Logger: a.log, Filter: mayBeProduct(a.cfg), PollOnly: a.opts.PollOnly})
}

// mayBeProduct lets the process source skip reading the details of processes whose name
// cannot be a product's. Names may be cut by the kernel, so a prefix is enough; a
// catalogue that matches by path alone must see every process.
func mayBeProduct(cfg *config.Config) func(string) bool {
	var names []string
	for _, p := range cfg.Products {
		if len(p.Match.Exe) == 0 {
			return nil
		}
		for _, e := range p.Match.Exe {
			names = append(names, strings.ToLower(e))
		}
	}
	return func(name string) bool {
		name = strings.ToLower(name)
		for _, n := range names {
			if n == name || strings.TrimSuffix(n, ".exe") == name || len(name) >= 15 && strings.HasPrefix(n, name) {
				return true
			}
		}
		return false
	}
}

func (a *Agent) config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// followConfig swaps in each configuration the watcher accepts.
func (a *Agent) followConfig(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case cfg := <-a.watcher.Updates():
			if err := a.reconfigure(cfg); err != nil {
				return err
			}
		}
	}
}

// tick advances the meter on the clock, so that grace ends and renewals happen on time
// even when no process starts or stops.
func (a *Agent) tick(ctx context.Context) error {
	every := a.config().Policy.PollInterval
	t := a.opts.Clock.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-a.tickEvery:
			if d > 0 && d != every {
				every = d
				t.Reset(every)
			}
		case <-t.C():
			a.refreshBeforeCharge()
			if err := a.advance(); err != nil {
				return err
			}
		}
	}
}

// Reload re-reads the configuration at once, for `tollgate reload`; a bad one is refused
// and the one in force stays.
func (a *Agent) Reload() (localapi.ReloadResult, error) {
	cfg, err := config.Load(a.opts.ConfigFile)
	if err != nil {
		return localapi.ReloadResult{}, err
	}
	refused, fatal := a.apply(cfg)
	if fatal != nil {
		return localapi.ReloadResult{}, fatal
	}
	if refused != nil {
		return localapi.ReloadResult{}, refused
	}
	return localapi.ReloadResult{Reloaded: true, Files: a.config().Files()}, nil
}

func goos() string { return runtime.GOOS }
