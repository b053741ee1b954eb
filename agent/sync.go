package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/journal"
	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

const (
	syncBatch    = 500
	backoffFirst = time.Second
	// DefaultRetryMax caps the wait between attempts: 5,000 devices retrying at most once
	// a minute, spread by jitter, is light load.
	DefaultRetryMax = time.Minute
)

// sync sends what was journaled to the ledger, in order, until every entry has the
// ledger's answer; an entry is marked done only on that answer. Failures are retried for
// ever with capped exponential backoff and full jitter, or after the ledger's
// Retry-After; a new commit while online is sent at once. Between sends it keeps the
// snapshots of users with open sessions fresh.
func (a *Agent) sync(ctx context.Context) error {
	a.countRefused()
	a.reported = since{} // a new link: report to its ledger at once
	fails := 0
	refreshed := since{}
	for {
		wait := time.Duration(0)
		sent, err := a.syncOnce(ctx)
		switch {
		case err == nil && sent:
			fails = 0
			continue // there may be more
		case err == nil:
			fails = 0
			if !refreshed.within(a.elapsed(), refreshEvery) {
				a.refreshActive(ctx)
				refreshed = sinceNow(a)
			}
			wait = refreshEvery
		case errors.Is(err, journal.ErrDamaged):
			return err // a restart repairs it
		default:
			fails++
			if ra := retryAfter(err); ra > 0 {
				// The ledger paces this device: come back when it said, by the agent's
				// clock, and not sooner for what is journaled meanwhile.
				a.log.Info("sync paced by the ledger", zap.Int("attempt", fails), zap.Duration("retry_after", ra), zap.Error(err))
				if !a.pause(ctx, ra) {
					return nil
				}
				continue
			}
			wait = backoff(fails, err, a.opts.RetryMax)
			a.log.Info("sync postponed", zap.Int("attempt", fails), zap.Duration("retry_in", wait), zap.Error(err))
		}
		t := a.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.kick:
		case <-t.C():
		}
		t.Stop()
	}
}

// retryAfter is the wait the ledger asked for with Retry-After (429, 503), or 0.
func retryAfter(err error) time.Duration {
	var ce *client.Error
	if errors.As(err, &ce) && ce.RetryAfter > 0 {
		return ce.RetryAfter
	}
	return 0
}

// backoff is the wait after the n-th failure in a row: the ledger's Retry-After when it
// gave one, else full jitter over a capped exponential.
func backoff(n int, err error, most time.Duration) time.Duration {
	if ra := retryAfter(err); ra > 0 {
		return ra
	}
	ceil := backoffFirst << min(n-1, 20)
	if ceil > most || ceil <= 0 {
		ceil = most
	}
	return time.Duration(rand.Int64N(int64(ceil)) + 1)
}

// syncOnce sends one batch; sent reports whether there was anything to send.
func (a *Agent) syncOnce(ctx context.Context) (sent bool, err error) {
	c, err := a.ledger(ctx)
	if err != nil {
		a.answered(err)
		return false, err
	}
	entries, err := a.journal.Unsent(a.synced.Load().(string), syncBatch)
	if err != nil {
		return false, err
	}
	if len(entries) == 0 {
		return false, a.reportIdle(ctx, c)
	}
	events := make([]api.Event, len(entries))
	for i, e := range entries {
		events[i] = api.Event{ID: a.device + "/" + e.ID, Hold: e.Effect.HoldID(), Effect: e.Effect}
	}
	results, err := a.send(ctx, c, api.Ingest{Events: events, DeviceNow: a.deviceNow(), Agent: a.agentInfo(entries[len(entries)-1].ID)})
	a.answered(err)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code == api.CodeInvalidEvents {
		// The ledger stored nothing; what it cannot apply is answered as refused, so that
		// one bad entry never blocks the rest for ever, and the others go again. The
		// ledger keeps what it refused in its dead-letter, for an admin to re-send.
		refused := map[string]journal.Answer{}
		for _, r := range ce.Events {
			refused[r.ID] = journal.Refused(r.Message)
			a.log.Warn("ledger refused a journaled effect; it is in the ledger's dead-letter ('tollgate ledger report refused')",
				zap.String("entry", r.ID), zap.String("code", r.Code), zap.String("why", r.Message))
			a.link.refused(r.Message)
		}
		return true, a.answer(entries, func(id string) (journal.Answer, bool) { s, ok := refused[a.device+"/"+id]; return s, ok })
	}
	if err != nil {
		return false, err
	}
	byID := map[string]api.Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	var folded []charge.Window
	err = a.answer(entries, func(id string) (journal.Answer, bool) {
		r, ok := byID[a.device+"/"+id]
		if !ok {
			return "", false
		}
		if r.Status == api.Folded && r.Window != nil {
			folded = append(folded, charge.Window{Key: *r.Window})
		}
		if r.Status == api.Refused {
			a.log.Warn("ledger refused a journaled effect; it is in the ledger's dead-letter ('tollgate ledger report refused')",
				zap.String("entry", id), zap.String("code", r.Code), zap.String("why", r.Message))
			a.link.refused(r.Message)
			return journal.Refused(r.Message), true
		}
		return journal.Answer(r.Status), true
	})
	if err != nil {
		return true, err
	}
	// A charge folded into a window paid elsewhere: the device moves to that window.
	for _, w := range folded {
		a.mu.Lock()
		_, err := a.record(journal.Input{Kind: journal.Learn, Reading: a.lastRead, Window: w}, func(charge.Entitlements) []charge.Effect {
			return a.meter.Learn(w)
		})
		a.mu.Unlock()
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

// answer marks the entries the ledger answered.
func (a *Agent) answer(entries []journal.Entry, answerOf func(id string) (journal.Answer, bool)) error {
	answers := map[string]journal.Answer{}
	var ids []string
	for _, e := range entries {
		if s, ok := answerOf(e.ID); ok {
			answers[e.ID] = s
			ids = append(ids, e.ID)
		}
	}
	at := a.reading().Wall
	if err := a.journal.MarkSent(answers, at); err != nil {
		return err
	}
	a.ents.answered(ids, at)
	if len(answers) == len(entries) {
		// Every entry up to the batch's last is answered: later batches start after it.
		a.synced.Store(entries[len(entries)-1].ID)
	}
	return nil
}

// refreshActive refreshes the snapshots of the users with open sessions, and of users
// seen before, so that offline decisions start from recent facts.
func (a *Agent) refreshActive(ctx context.Context) {
	users := map[string]bool{}
	a.mu.Lock()
	for _, s := range a.meter.Sessions() {
		users[s.User] = true
	}
	a.mu.Unlock()
	for _, u := range a.ents.known() {
		users[u] = true
	}
	for u := range users {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := a.refresh(rctx, u)
		cancel()
		if err != nil {
			return
		}
	}
}

// wake tells the sync loop that something was journaled.
func (a *Agent) wakeSync() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// deviceNow is the time in the frame the meter stamps its effects in (the wall clock,
// plus the ledger's offset, held at its high-water mark), sent with each batch so that
// the ledger can correct times stamped by a wrong clock.
func (a *Agent) deviceNow() time.Time {
	r := a.reading()
	a.mu.Lock()
	now := a.meter.Now()
	a.mu.Unlock()
	if r.Wall.After(now) {
		return r.Wall
	}
	return now
}

// countRefused counts the journal's entries the ledger refused, for status after a
// restart.
func (a *Agent) countRefused() {
	entries, err := a.journal.Entries()
	if err != nil {
		return
	}
	for _, e := range entries {
		if why, ok := e.Answer.Refusal(); ok {
			a.link.refused(why)
		}
	}
}
