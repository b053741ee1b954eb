// Package notifier is the per-user helper that shows the agent's messages to the person
// at the desk: it subscribes to the agent's local API as the current OS user and hands
// each message to the desktop's notifications.
package notifier

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/localapi"
	"tollgate/clock"
	"tollgate/platform"
)

const (
	// firstRetry and lastRetry bound the capped exponential backoff between attempts to
	// reach the agent; each wait is drawn uniformly below the cap (full jitter), so the
	// notifiers of a terminal server do not all knock at once when the agent restarts.
	firstRetry = time.Second
	lastRetry  = time.Minute

	// coalesceWithin is how long a title, once shown, is not shown again: a burst (a
	// double-clicked shortcut, a product that starts several processes) is one notice.
	coalesceWithin = 2 * time.Second

	// displayTimeout bounds one notice, so a desktop whose notification service hangs
	// does not stop the messages after it.
	displayTimeout = 15 * time.Second

	// connectedMsg is logged each time the subscription is in place; tests and people
	// reading the log wait for it.
	connectedMsg = "connected to the agent"
)

// Options configures a Notifier. Zero values are the real thing.
type Options struct {
	Socket  string            // the agent's local API; "": platform.DefaultPaths().Socket
	Display platform.Notifier // nil: platform.NewDesktopNotifier()
	Logger  *zap.Logger       // nil: no logs
	Clock   clock.Clock       // the backoff's timers and the coalescing's time; nil: the real clock
	// Idle measures how long this desktop session has had no input; nil:
	// platform.InputIdle. It is reported to the agent every IdleEvery (30s), for the
	// idle rule (renewal_when_idle).
	Idle      func(ctx context.Context) (time.Duration, error)
	IdleEvery time.Duration
	// AskClose asks a product the agent is closing for idleness to close, from this
	// desktop session; nil: platform.AskToClose on Windows, where the agent, a service in
	// session 0, cannot reach the user's windows, and nothing elsewhere.
	AskClose func(ctx context.Context, key platform.ProcKey) error
}

// Notifier shows the calling user's messages from the agent.
type Notifier struct {
	display platform.Notifier
	log     *zap.Logger
	clock   clock.Clock
	hc      *http.Client
	client  *localapi.Client
	idle    func(ctx context.Context) (time.Duration, error)
	every   time.Duration
	ask     func(ctx context.Context, key platform.ProcKey) error

	// The rest belongs to Run's goroutine.
	started  bool
	seen     shown
	recent   map[string]time.Time // title -> when it was last shown
	failures map[string]int       // display failures by kind
	lastErr  string               // the last reason the agent could not be reached, logged once
}

// New returns a notifier; Run starts it.
func New(opts Options) *Notifier {
	if opts.Socket == "" {
		opts.Socket = platform.DefaultPaths().Socket
	}
	if opts.Display == nil {
		opts.Display = platform.NewDesktopNotifier()
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	opts.Clock = clock.Or(opts.Clock)
	if opts.Idle == nil {
		opts.Idle = platform.InputIdle
	}
	if opts.AskClose == nil && runtime.GOOS == "windows" {
		opts.AskClose = platform.AskToClose
	}
	if opts.IdleEvery <= 0 {
		opts.IdleEvery = 30 * time.Second
	}
	socket := opts.Socket
	return &Notifier{
		display: opts.Display,
		log:     opts.Logger.Named("notifier").With(zap.String("socket", socket)),
		clock:   opts.Clock,
		hc: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return platform.Dial(ctx, socket) },
		}},
		client:   localapi.NewClient(socket),
		idle:     opts.Idle,
		every:    opts.IdleEvery,
		ask:      opts.AskClose,
		recent:   map[string]time.Time{},
		failures: map[string]int{},
	}
}

// Run shows messages until ctx ends, and then returns nil. It never gives up on its own:
// while the agent is not running, or when it restarts, Run keeps trying to reach it.
func (n *Notifier) Run(ctx context.Context) error {
	defer n.hc.CloseIdleConnections()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.reportIdle(ctx)
	}()
	attempt := 0
	for {
		connected, err := n.session(ctx)
		if ctx.Err() != nil {
			n.logSilenced()
			return nil
		}
		if connected {
			attempt = 0
		}
		wait := backoff(attempt)
		attempt++
		n.logDown(connected, err, wait)
		t := n.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			n.logSilenced()
			return nil
		case <-t.C():
		}
	}
}

// backoff is the wait before the attempt after the given number of failed ones.
func backoff(failed int) time.Duration {
	limit := min(firstRetry<<min(failed, 16), lastRetry)
	return rand.N(limit + 1)
}

// session is one connection to the agent: it subscribes, shows what was missed while
// away, then shows messages as they come until the connection ends.
func (n *Notifier) session(ctx context.Context) (connected bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var before []localapi.Message
	if !n.started {
		// What the agent said before this notifier first reached it is old news, read
		// before subscribing so that nothing said after is taken for it.
		if before, err = n.client.Messages(ctx, ""); err != nil {
			return false, err
		}
	}
	s, err := subscribe(ctx, n.hc)
	if err != nil {
		return false, err
	}
	defer s.close()
	n.lastErr = ""
	n.log.Info(connectedMsg)
	if !n.started {
		n.started = true
		n.seen.baseline(before)
	} else {
		// Messages said while the notifier was away (an agent restarting adopts the
		// running products and may close them at once) are shown now. The list is read
		// after subscribing, so a message can come both ways; shown drops the second.
		missed, err := n.client.Messages(ctx, "")
		if err != nil {
			return true, err
		}
		for _, m := range n.seen.catchUp(missed) {
			n.show(ctx, m)
		}
	}
	for {
		m, err := s.next()
		if err != nil {
			return true, err
		}
		if n.seen.fromStream(m) {
			n.askClose(ctx, m)
			n.show(ctx, m)
		}
	}
}

// show hands m to the display, unless the same title was just shown.
func (n *Notifier) show(ctx context.Context, m localapi.Message) {
	now := n.clock.Now()
	for title, at := range n.recent {
		if now.Sub(at) >= coalesceWithin {
			delete(n.recent, title)
		}
	}
	title := m.Title
	if title == "" {
		title = "tollgate" // a kind this notifier does not know, said without a title
	}
	if _, ok := n.recent[title]; ok {
		n.log.Debug("coalesced", zap.String("kind", string(m.Kind)), zap.String("title", title))
		return
	}
	n.recent[title] = now
	ctx, cancel := context.WithTimeout(ctx, displayTimeout)
	defer cancel()
	err := n.display.Notify(ctx, platform.Notice{Title: title, Body: m.Body, Urgent: m.Urgent})
	if err == nil || ctx.Err() != nil {
		return // shown, or cut short because the notifier is stopping
	}
	kind := failureKind(err)
	n.failures[kind]++
	if n.failures[kind] > 1 {
		n.log.Debug("cannot show a message", zap.String("failure", kind), zap.String("title", title), zap.Error(err))
		return
	}
	// Once per kind: a desktop without notify-send would otherwise log every message.
	n.log.Warn("cannot show a message on this desktop; later failures of this kind are not logged",
		zap.String("failure", kind), zap.String("title", title), zap.String("body", m.Body), zap.Error(err))
}

// failureKind names what went wrong with the display, coarsely enough that a failure
// that repeats is one kind.
func failureKind(err error) string {
	var ee *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return "not installed"
	case errors.As(err, &ee):
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return fmt.Sprintf("%T", err)
		}
		err = inner
	}
}

func (n *Notifier) logDown(connected bool, err error, wait time.Duration) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is the same made-up one every time
	}
	if connected {
		n.log.Info("lost the agent; reconnecting", zap.Error(err), zap.Duration("retry_in", wait))
		return
	}
	if msg := err.Error(); msg != n.lastErr {
		// A new reason is worth a line; the same one again, every minute, is not.
		n.lastErr = msg
		n.log.Warn("cannot reach the agent; retrying", zap.Error(err), zap.Duration("retry_in", wait))
		return
	}
	n.log.Debug("cannot reach the agent; retrying", zap.Error(err), zap.Duration("retry_in", wait))
}

func (n *Notifier) logSilenced() {
	for kind, count := range n.failures {
		if count > 1 {
			n.log.Info("display failures not logged", zap.String("failure", kind), zap.Int("count", count-1))
		}
	}
}

// reportIdle tells the agent, every n.every until ctx ends, how long this session has had
// no input. A session that cannot say, or an agent that is away, is logged once per
// reason: without reports the agent takes the session as in use, which closes nothing.
// It ticks on the machine's time, not n.clock: the agent takes one report per user every
// 2 seconds of real time, and a pace on a test clock could outrun that limit.
func (n *Notifier) reportIdle(ctx context.Context) {
	t := time.NewTicker(n.every)
	defer t.Stop()
	said := ""
	for {
		d, err := n.idle(ctx)
		if err == nil {
			err = n.client.ReportIdle(ctx, d)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			said = ""
		case err.Error() != said:
			said = err.Error()
			n.log.Info("input idleness not reported; the agent takes this session as in use", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// askClose asks, from this session, the processes an idle_close names to close.
func (n *Notifier) askClose(ctx context.Context, m localapi.Message) {
	if n.ask == nil || m.Kind != localapi.KindIdleClose {
		return
	}
	for _, id := range m.Procs {
		key, err := platform.ParseProcKey(id)
		if err != nil {
			continue
		}
		if err := n.ask(ctx, key); err != nil && !errors.Is(err, platform.ErrNoProcess) {
			n.log.Info("could not ask an idle product to close", zap.String("process", id), zap.Error(err))
		}
	}
}
