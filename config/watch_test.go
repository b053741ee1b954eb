package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"tollgate/clock"
	"tollgate/clock/clocktest"
)

// waitLimit bounds how long a test waits for the watcher before it fails; passing never
// depends on it.
const waitLimit = 20 * time.Second

// push replaces dir/name the way deployment tools do: write a temp file beside it, then
// rename it over the target, so that the target is never half-written.
func push(t *testing.T, dir, name, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// startWatcher runs w until the test ends and returns once it watches the folders.
func startWatcher(t *testing.T, w *Watcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	})
	select {
	case <-w.ready:
	case err := <-done:
		t.Fatalf("Run = %v before watching", err)
	case <-time.After(waitLimit):
		t.Fatal("Run did not start watching")
	}
}

func waitUpdate(t *testing.T, w *Watcher, want func(*Config) bool) *Config {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case c := <-w.Updates():
			if want(c) {
				return c
			}
		case <-deadline:
			t.Fatalf("no update came; last error: %v", w.LastError())
		}
	}
}

// waitRefusal waits for a refusal at file:line that says msg, skipping repeats of earlier
// ones.
func waitRefusal(t *testing.T, w *Watcher, file string, line int, msg string) *ReloadError {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case re := <-w.Refusals():
			var e *Error
			if errors.As(re, &e) && e.File == file && e.Line == line && strings.Contains(e.Msg, msg) {
				return re
			}
		case <-deadline:
			t.Fatalf("no refusal at %s:%d saying %q came; last error: %v", file, line, msg, w.LastError())
		}
	}
}

func TestWatcherPushes(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"config.yaml": base + "log:\n  level: info\n"})
	core, logs := observer.New(zapcore.DebugLevel)
	level := zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	w, err := NewWatcher(WatchOptions{
		MainFile: filepath.Join(dir, "config.yaml"),
		Logger:   zap.New(core),
		Debounce: 10 * time.Millisecond,
		Level:    &level,
	})
	if err != nil {
		t.Fatalf("NewWatcher: %v", err)
	}
	if got := level.Level(); got != zapcore.InfoLevel {
		t.Errorf("log level after NewWatcher = %v, want info from the config", got)
	}
	startWatcher(t, w)

	// conf.d does not exist yet: the watcher must start watching it when it appears.
	push(t, dir, "conf.d/50-push.yaml", "admin_contact: v2\nlog:\n  level: debug\n", 0o644)
	good := waitUpdate(t, w, func(c *Config) bool { return c.AdminContact == "v2" })
	if w.Current() != good {
		t.Errorf("Current() = %p, want the delivered config %p", w.Current(), good)
	}
	if got := level.Level(); got != zapcore.DebugLevel {
		t.Errorf("log level after a push of log.level: debug = %v, want debug", got)
	}
	if err := w.LastError(); err != nil {
		t.Errorf("LastError() = %v after a good push, want nil", err)
	}

	pushed := filepath.Join(dir, "conf.d", "50-push.yaml")
	bad := []struct {
		name    string
		content string
		mode    os.FileMode
		line    int
		wantMsg string
	}{
		{"syntax error", "admin_contact: [v3\n", 0o644, 1, "YAML syntax"},
		{"unknown key", "admin_contact: v3\nadmin: x\n", 0o644, 2, `unknown field "admin"`},
		{"wrong type", "policy:\n  grace_notice: often\n", 0o644, 2, "want true or false"},
		{"bad duration", "policy:\n  close_after: 15 minutes\n", 0o644, 2, "is not a duration"},
		{"bad enum", "policy:\n  renewal_when_empty: charge\n", 0o644, 2, `unknown value "charge"`},
		{"duplicate id", "products:\n  - {id: rhino, match: {exe: [Rhino.exe]}}\n  - {id: rhino, match: {exe: [Rhino8.exe]}}\n", 0o644, 3, "duplicate id"},
		{"truncated", `{"admin_contact": "v3", "products": [{"id": "rh`, 0o644, 1, "cut off mid-write"},
		{"empty", "", 0o644, 0, "the file is empty"},
		{"writable by everyone", "admin_contact: v3\n", 0o666, 0, "chmod go-w"},
	}
	for _, b := range bad {
		push(t, dir, "conf.d/50-push.yaml", b.content, b.mode)
		re := waitRefusal(t, w, pushed, b.line, b.wantMsg)
		if re.At.IsZero() || !strings.HasPrefix(re.Error(), "config push refused at ") {
			t.Errorf("%s: refusal %q at %v, want a time and its cause", b.name, re, re.At)
		}
		if w.Current() != good {
			t.Errorf("%s: Current() changed to %+v, want the last good config kept", b.name, w.Current())
		}
		var e *Error
		if err := w.LastError(); !errors.As(err, &e) || e.File != pushed || e.Line != b.line {
			t.Errorf("%s: LastError() = %v, want an *Error at %s:%d", b.name, err, pushed, b.line)
		}
		h := w.Health()
		if !strings.Contains(h.Err, b.wantMsg) || h.ErrAt.IsZero() {
			t.Errorf("%s: Health() = %+v, want Err holding %q and ErrAt set", b.name, h, b.wantMsg)
		}
	}
	if refused := logs.FilterMessage("config push refused; the previous config stays in force").Len(); refused < len(bad) {
		t.Errorf("logged %d refusals, want at least %d", refused, len(bad))
	}

	// A good push recovers.
	push(t, dir, "conf.d/50-push.yaml", "admin_contact: v4\n", 0o644)
	waitUpdate(t, w, func(c *Config) bool { return c.AdminContact == "v4" })
	if err := w.LastError(); err != nil {
		t.Errorf("LastError() = %v after a good push, want nil", err)
	}
	h := w.Health()
	wantFiles := []string{filepath.Join(dir, "config.yaml"), pushed}
	if h.Err != "" || len(h.Files) != 2 || h.Files[0] != wantFiles[0] || h.Files[1] != wantFiles[1] || h.Loaded.IsZero() {
		t.Errorf("Health() = %+v, want no error, files %q and a load time", h, wantFiles)
	}
	if got := level.Level(); got != zapcore.InfoLevel {
		t.Errorf("log level after the push dropped log.level = %v, want info again", got)
	}

	// Replacing the main file counts too, and removing the drop-in is a change.
	push(t, dir, "config.yaml", base+"policy:\n  close_after: 5m\n", 0o644)
	waitUpdate(t, w, func(c *Config) bool { return c.Policy.CloseAfter == 5*time.Minute })
	if err := os.Remove(pushed); err != nil {
		t.Fatal(err)
	}
	waitUpdate(t, w, func(c *Config) bool { return c.AdminContact == "Studio IT" && len(c.Files()) == 1 })
}

func TestWatcherRefusesBadStart(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"config.yaml": base + "policy:\n  close_after: soon\n"})
	_, err := NewWatcher(WatchOptions{MainFile: filepath.Join(dir, "config.yaml")})
	var e *Error
	if !errors.As(err, &e) || e.Line != 7 {
		t.Errorf("NewWatcher error = %v, want an *Error at line 7", err)
	}
}

func TestWatcherRunTwice(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"config.yaml": base})
	w, err := NewWatcher(WatchOptions{MainFile: filepath.Join(dir, "config.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	startWatcher(t, w)
	if err := w.Run(context.Background()); err == nil {
		t.Error("second Run = nil, want an error")
	}
}

// countingClock is the test clock, counting how often a debounce timer was started or
// restarted.
type countingClock struct {
	*clocktest.Clock
	sets atomic.Int64
}

func (c *countingClock) NewTimer(d time.Duration) clock.Timer {
	c.sets.Add(1)
	return countingTimer{c.Clock.NewTimer(d), c}
}

type countingTimer struct {
	clock.Timer
	c *countingClock
}

func (t countingTimer) Reset(d time.Duration) bool {
	t.c.sets.Add(1)
	return t.Timer.Reset(d)
}

// fire ends every pending debounce and tells how many there were and how often they
// (re)started.
func (c *countingClock) fire() (fired, sets int) {
	fired = len(c.Pending())
	c.Advance(DefaultDebounce)
	return fired, int(c.sets.Swap(0))
}

func TestWatcherDebouncesEditorWrites(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"config.yaml": base})
	main := filepath.Join(dir, "config.yaml")
	clock := &countingClock{Clock: clocktest.New(time.Now())}
	w, err := NewWatcher(WatchOptions{MainFile: main, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan fsnotify.Event, 1024)
	w.onEventTest = func(ev fsnotify.Event) { events <- ev }
	startWatcher(t, w)
	startLoads := w.loads.Load()

	// What vim does on :w with its defaults (backupcopy=auto, writebackup): a swap file,
	// a backup by rename, the new file written in pieces, its mode restored, the backup
	// removed. Every intermediate state, including a half-written config.yaml, must go
	// unread.
	backup := main + "~"
	swap := filepath.Join(dir, ".config.yaml.swp")
	content := base + "policy:\n  close_after: 7m\n"
	steps := []func() error{
		func() error { return os.WriteFile(swap, []byte("vim swap"), 0o600) },
		func() error { return os.Rename(main, backup) },
		func() error { return os.WriteFile(main, []byte(content[:len(content)/2]), 0o644) },
		func() error {
			f, err := os.OpenFile(main, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteString(content[len(content)/2:]); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
		func() error { return os.Chmod(main, 0o644) },
		func() error { return os.Remove(backup) },
		func() error { return os.Remove(swap) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("editor step %d: %v", i, err)
		}
	}
	// inotify queues events in order, so once the last step's event is seen, all are.
	deadline := time.After(waitLimit)
	for seen := false; !seen; {
		select {
		case ev := <-events:
			seen = ev.Name == swap && ev.Has(fsnotify.Remove)
		case <-deadline:
			t.Fatal("the editor's last event never came")
		}
	}
	if loads := w.loads.Load() - startLoads; loads != 0 {
		t.Fatalf("%d reloads before the debounce ended, want 0", loads)
	}
	fired, sets := clock.fire()
	if fired != 1 || sets < 2 {
		t.Errorf("debounce timers fired = %d after %d (re)starts, want 1 timer restarted by several events", fired, sets)
	}
	c := waitUpdate(t, w, func(*Config) bool { return true })
	if c.Policy.CloseAfter != 7*time.Minute {
		t.Errorf("close_after = %v, want 7m from the edited file", c.Policy.CloseAfter)
	}
	if loads := w.loads.Load() - startLoads; loads != 1 {
		t.Errorf("%d reloads for one editor save, want 1", loads)
	}
	if err := w.LastError(); err != nil {
		t.Errorf("LastError() = %v, want nil", err)
	}
}
