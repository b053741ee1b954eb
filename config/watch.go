package config

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"tollgate/clock"
)

// DefaultDebounce is how long the folders must be quiet before a push is read: long
// enough for an editor's or a deployment tool's several steps, short enough for IT.
const DefaultDebounce = 300 * time.Millisecond

// WatchOptions configures a Watcher. Zero values mean the production choice.
type WatchOptions struct {
	// MainFile is the main config file; conf.d beside it holds the drop-ins.
	MainFile string
	// Logger receives reloads and refused pushes; nil logs nothing.
	Logger *zap.Logger
	// Debounce is how long the folders must be quiet before a reload; 0 means
	// DefaultDebounce.
	Debounce time.Duration
	// Level, when set, follows log.level of every configuration loaded, so that a push can
	// turn debug logging on and off without a restart.
	Level *zap.AtomicLevel
	// Load is how files are read; see Options.
	Load Options
	// Clock times the debounce and stamps loads and refusals; nil means the real clock.
	Clock clock.Clock
}

// Health is what `tollgate status` shows about the configuration.
type Health struct {
	Loaded   time.Time `json:"loaded"`             // when the configuration in force was loaded
	Files    []string  `json:"files"`              // the files it was loaded from, main file first
	Warnings []string  `json:"warnings,omitempty"` // its warnings, file:line first
	Err      string    `json:"error,omitempty"`    // why the last push was refused; "" when what is on disk is in force
	ErrAt    time.Time `json:"error_at,omitzero"`  // when it was refused
	// Restart lists the settings of the configuration in force that the agent cannot apply
	// while running ("log.file"): they take effect when it restarts.
	Restart []string `json:"restart,omitempty"`
}

// ReloadError is a push that was refused; the configuration loaded before stays in force.
// It wraps the load error, so errors.As finds its *Error with file and line.
type ReloadError struct {
	At  time.Time
	Err error
}

func (e *ReloadError) Error() string {
	return fmt.Sprintf("config push refused at %s, previous config kept: %v", e.At.Format(time.RFC3339), e.Err)
}

func (e *ReloadError) Unwrap() error { return e.Err }

// Watcher keeps the current configuration: it watches the main file's folder and conf.d
// (folders, not files, because pushes replace files by rename), reloads the whole layered
// configuration when they have been quiet for the debounce time, and swaps in the result
// only if it is valid.
type Watcher struct {
	opts    WatchOptions
	log     *zap.Logger
	main    string
	dir     string
	dropins string

	cur      atomic.Pointer[Config]
	updates  chan *Config
	refusals chan *ReloadError
	running  atomic.Bool
	loads    atomic.Int64 // attempts, for tests of the debounce

	mu      sync.Mutex
	loaded  time.Time
	lastErr *ReloadError
	restart []string

	ready       chan struct{} // closed once Run watches the folders; for tests
	onEventTest func(fsnotify.Event)
}

// NewWatcher loads the configuration once and fails if it is not valid: the agent must
// not start on a configuration nobody checked. Call Run to follow pushes.
func NewWatcher(opts WatchOptions) (*Watcher, error) {
	if opts.MainFile == "" {
		return nil, errors.New("config: WatchOptions.MainFile is empty")
	}
	main, err := filepath.Abs(opts.MainFile)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", opts.MainFile, err)
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	opts.Clock = clock.Or(opts.Clock)
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	c, err := LoadWith(main, opts.Load)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		opts:     opts,
		log:      log.Named("config"),
		main:     main,
		dir:      filepath.Dir(main),
		dropins:  filepath.Join(filepath.Dir(main), DropinDir),
		updates:  make(chan *Config, 1),
		refusals: make(chan *ReloadError, 1),
		loaded:   opts.Clock.Now(),
		ready:    make(chan struct{}),
	}
	w.cur.Store(c)
	w.applyLevel(c)
	w.logLoaded(c)
	return w, nil
}

// Current is the configuration in force. Never nil.
func (w *Watcher) Current() *Config { return w.cur.Load() }

// Updates delivers each new configuration after it has been swapped in. It holds only the
// newest: a slow reader skips intermediate ones, never sees a stale one last.
func (w *Watcher) Updates() <-chan *Config { return w.updates }

// Refusals delivers each refused push, so that the agent can report it to the ledger. It
// holds only the newest.
func (w *Watcher) Refusals() <-chan *ReloadError { return w.refusals }

// LastError is why the last push was refused, as a *ReloadError, or nil when the files on
// disk are in force.
func (w *Watcher) LastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastErr == nil {
		return nil
	}
	return w.lastErr
}

// Health reports the configuration's state for `tollgate status`.
func (w *Watcher) Health() Health {
	c := w.cur.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	h := Health{Loaded: w.loaded, Files: c.Files(), Warnings: c.Warnings()}
	if w.lastErr != nil {
		h.Err, h.ErrAt = w.lastErr.Err.Error(), w.lastErr.At
	}
	h.Restart = append([]string(nil), w.restart...)
	return h
}

// Refuse undoes the swap of c, a configuration Updates delivered that its user could not
// apply whole (a ledger that does not answer, a path the gate cannot watch): prev, the
// configuration still in force, becomes Current again and err is reported as for a push
// that does not load. Files unchanged since are not offered again; the next push is.
func (w *Watcher) Refuse(c, prev *Config, err error) {
	re := &ReloadError{At: w.opts.Clock.Now(), Err: err}
	if w.cur.CompareAndSwap(c, prev) {
		w.applyLevel(prev)
	}
	w.mu.Lock()
	w.lastErr = re
	w.mu.Unlock()
	w.log.Warn("config push refused; the previous config stays in force", zap.Error(err))
	deliver(w.refusals, re)
}

// SetRestart records which settings of the configuration in force wait for a restart, for
// Health.
func (w *Watcher) SetRestart(fields []string) {
	w.mu.Lock()
	w.restart = append([]string(nil), fields...)
	w.mu.Unlock()
}

// Run follows pushes until ctx is done, then closes its fsnotify watcher and returns nil.
// It returns an error only if it cannot watch the main file's folder.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("config: Watcher.Run called twice")
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("config watch: %w", err)
	}
	defer fw.Close()
	if err := fw.Add(w.dir); err != nil {
		return fmt.Errorf("config watch %s: %w", w.dir, err)
	}
	w.watchDropins(fw)
	// A push may have landed between NewWatcher's load and the watch.
	w.reload()
	close(w.ready)

	var timer clock.Timer
	var fire <-chan time.Time
	debounce := func() { // (re)start the quiet period that ends in a reload
		if timer == nil {
			timer = w.opts.Clock.NewTimer(w.opts.Debounce)
			fire = timer.C()
		} else {
			timer.Reset(w.opts.Debounce)
		}
	}
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			relevant := w.relevant(fw, ev)
			if w.onEventTest != nil {
				w.onEventTest(ev)
			}
			if relevant {
				debounce()
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			// Most likely lost events (a queue overflow).
			w.log.Warn("config watch error; reloading to be safe", zap.Error(err))
			debounce()
		case <-fire:
			w.reload()
		}
	}
}

// relevant tells an event that may change the configuration, and starts watching conf.d
// when it appears.
func (w *Watcher) relevant(fw *fsnotify.Watcher, ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	switch {
	case name == w.main, name == w.dir:
		return true
	case name == w.dropins:
		if ev.Has(fsnotify.Create) {
			w.watchDropins(fw)
		}
		return true
	case filepath.Dir(name) == w.dropins:
		return IsDropin(filepath.Base(name))
	}
	return false
}

func (w *Watcher) watchDropins(fw *fsnotify.Watcher) {
	// Not there (yet) or not a folder: the reload reports the latter.
	_ = fw.Add(w.dropins)
}

// reload reads the whole layered configuration and swaps it in if it is valid and new.
func (w *Watcher) reload() {
	w.loads.Add(1)
	c, err := LoadWith(w.main, w.opts.Load)
	now := w.opts.Clock.Now()
	if err != nil {
		re := &ReloadError{At: now, Err: err}
		w.mu.Lock()
		w.lastErr = re
		w.mu.Unlock()
		w.log.Warn("config push refused; the previous config stays in force", zap.Error(err))
		deliver(w.refusals, re)
		return
	}
	old := w.cur.Load()
	w.mu.Lock()
	hadErr := w.lastErr != nil
	w.lastErr = nil
	if c.digest != old.digest {
		w.loaded = now
	}
	w.mu.Unlock()
	if c.digest == old.digest {
		if hadErr {
			w.log.Info("config on disk is valid again; it is the one in force")
		}
		return
	}
	w.cur.Store(c)
	w.applyLevel(c)
	w.logLoaded(c)
	deliver(w.updates, c)
}

// deliver replaces what ch holds with v without blocking; Run is the only sender.
func deliver[T any](ch chan T, v T) {
	select {
	case <-ch:
	default:
	}
	ch <- v
}

func (w *Watcher) applyLevel(c *Config) {
	if w.opts.Level != nil {
		w.opts.Level.SetLevel(c.Log.ZapLevel())
	}
}

func (w *Watcher) logLoaded(c *Config) {
	w.log.Info("config loaded", zap.Strings("files", c.files), zap.Int("products", len(c.Products)))
	for _, warn := range c.warnings {
		w.log.Warn("config warning", zap.String("warning", warn))
	}
}
