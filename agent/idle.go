package agent

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/platform"
)

// Idleness (rule 4, renewal_when_idle): the notifier in each desktop session reports how
// long that session has had no keyboard or mouse input (POST /v0/idle), and the agent
// samples the CPU time of the products' processes. Both go to the meter as journaled
// inputs, so that a replay after a crash decides the renewal as it was decided.

const (
	// busyShare is the share of one CPU above which a product's processes are at work
	// (rendering, syncing) rather than idle: a product waiting for input uses well under it.
	busyShare = 0.02
	// idleReportEvery is the most often one user's reports are journaled: each is an fsync, and
	// a local user must not make the agent write its journal as fast as they can ask. The
	// notifier reports every 30 s; one that reports input sooner loses a few seconds.
	idleReportEvery = 2 * time.Second
)

// ReportIdle takes a notifier's report of its user's session idleness (localapi.Backend):
// at most one every idleReportEvery per user, journaled before the meter acts on it.
func (a *Agent) ReportIdle(user string, idle time.Duration) error {
	if !a.takeReport(user) {
		return &localapi.Error{Status: http.StatusTooManyRequests, Code: localapi.CodeTooManyReports,
			Message: "report your session's idleness at most every 2 seconds; the notifier reports every 30"}
	}
	if err := a.reportInput(user, idle); err != nil {
		return &localapi.Error{Status: http.StatusServiceUnavailable, Code: localapi.CodeNotRecorded,
			Message: "the agent could not record the report; it is sent again shortly"}
	}
	return nil
}

// takeReport says whether user may report now, and counts it. The limit is on the
// machine's time, not the agent's clock, as the local API's other limits are: it bounds
// what a flooding caller costs in real CPU, which a test clock standing still must not lift.
func (a *Agent) takeReport(user string) bool {
	a.reportsMu.Lock()
	defer a.reportsMu.Unlock()
	now := time.Now()
	if a.reports == nil {
		a.reports = map[string]time.Time{}
	}
	if last, ok := a.reports[user]; ok && now.Sub(last) < idleReportEvery && now.After(last) {
		return false
	}
	for u, t := range a.reports {
		if now.Sub(t) >= idleReportEvery {
			delete(a.reports, u) // the map holds only the users who reported just now
		}
	}
	a.reports[user] = now
	return true
}

// reportInput gives the meter a user's input idleness.
func (a *Agent) reportInput(user string, idle time.Duration) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.first {
		return errors.New("not yet watching")
	}
	if !slices.ContainsFunc(a.meter.Sessions(), func(s charge.Session) bool { return s.User == user }) {
		// Nothing of theirs runs here: nothing to decide, and no journal write. A session
		// that starts is in use from its start, and the next report comes within 30 s.
		return nil
	}
	r := a.reading()
	_, err := a.record(journal.Input{Kind: journal.InputIdle, Reading: r, Proc: charge.Proc{User: user}, Idle: idle}, func(e charge.Entitlements) []charge.Effect {
		return a.meter.Input(r, user, idle, e)
	})
	return err
}

// watchCPU samples the CPU time of the products' processes every CPUEvery, and tells the
// meter of each session whose processes used more than busyShare of a CPU since the last.
// It ticks on the machine's time because CPU time is the machine's: a share of a CPU is
// CPU time over real time.
func (a *Agent) watchCPU(ctx context.Context) error {
	t := time.NewTicker(a.opts.CPUEvery)
	defer t.Stop()
	last := map[string]time.Duration{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		last = a.sampleCPU(ctx, last, a.opts.CPUEvery)
	}
}

// sampleCPU reads each product process's CPU time and reports the busy sessions; it
// returns this sample, for the next.
func (a *Agent) sampleCPU(ctx context.Context, last map[string]time.Duration, every time.Duration) map[string]time.Duration {
	a.mu.Lock()
	procs := a.meter.Procs()
	keys := make(map[string]platform.ProcKey, len(procs))
	for _, p := range procs {
		keys[p.ID] = a.tracked[p.ID]
	}
	a.mu.Unlock()
	now := map[string]time.Duration{}
	busy := map[[2]string]bool{}
	for _, p := range procs {
		used, err := platform.CPUTime(ctx, keys[p.ID])
		if err != nil {
			continue // gone since: its exit is the process source's to report
		}
		now[p.ID] = used
		if prev, ok := last[p.ID]; ok && float64(used-prev) > busyShare*float64(every) {
			busy[[2]string{p.User, p.Product}] = true
		}
	}
	for k := range busy {
		a.mu.Lock()
		if !a.first {
			r := a.reading()
			if _, err := a.record(journal.Input{Kind: journal.Busy, Reading: r, Proc: charge.Proc{User: k[0], Product: k[1]}}, func(e charge.Entitlements) []charge.Effect {
				return a.meter.Busy(r, k[0], k[1], e)
			}); err != nil {
				a.fail(err)
			}
		}
		a.mu.Unlock()
	}
	return now
}

// askClose asks a process to close for idleness, the polite way only: it is never killed,
// and one still open after charge.IdleCloseWait is renewed by the meter.
func (a *Agent) askClose(id string) {
	key, err := parseProcKey(id)
	if err != nil {
		a.log.Error("cannot ask a process to close", zap.String("id", id), zap.Error(err))
		return
	}
	ctx := a.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	a.closing.Add(1)
	go func() {
		defer a.closing.Done()
		err := a.opts.AskClose(context.WithoutCancel(ctx), key)
		switch {
		case errors.Is(err, platform.ErrNoProcess):
		case err != nil:
			a.log.Warn("could not ask an idle product to close", zap.Int32("pid", key.PID), zap.Error(err))
		default:
			a.log.Info("idle product asked to close", zap.Int32("pid", key.PID))
		}
	}()
}

// nightly calls the meter's nightly close (policy.nightly_close) for each warning and close
// instant the clock passed since it last looked; an agent that was down does not catch up,
// so it never closes without the warning. Callers hold a.mu.
func (a *Agent) nightly(r charge.Reading) error {
	from := a.nightSeen
	a.nightSeen = r.Wall
	hhmm := a.cfg.Policy.NightlyClose
	if hhmm == "" || from.IsZero() || !r.Wall.After(from) {
		return nil
	}
	n, err := charge.ParseNightly(hhmm, time.Local)
	if err != nil {
		return nil // config refused it already; a push that carried it was not taken
	}
	for _, at := range n.Instants(from, r.Wall) {
		if _, err := a.record(journal.Input{Kind: journal.Nightly, Reading: r, At: at}, func(e charge.Entitlements) []charge.Effect {
			return a.meter.Nightly(r, at, e)
		}); err != nil {
			return err
		}
	}
	return nil
}
