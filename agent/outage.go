package agent

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/platform"
)

// When the journal cannot be written (a full disk, a read-only or failing one) the agent
// keeps running: what the meter was told waits in memory, in order, with the effects
// that came of it, and nothing of it is acted on until it is written. Charges are
// therefore still durable before anyone is told of them or the ledger sees them. Until
// the backlog is written, launches that would open a grace (and so lead to a charge) are
// refused; products already running, subscriptions and paid windows go on. A timer
// retries the write, and the first that succeeds makes the agent whole again.

// journalRetry is how often a journal that cannot be written is tried again.
const journalRetry = time.Second

// unwritten is an input the journal could not take yet, with its effects.
type unwritten struct {
	in   journal.Input
	effs []charge.Effect
}

// commit journals an input and its effects, then acts on them. A journal that cannot
// be written is not fatal: the input waits for the retry, behind any already waiting.
// Only a damaged journal is, so that a restart repairs it. Callers hold a.mu.
func (a *Agent) commit(in journal.Input, effs []charge.Effect) ([]charge.Effect, error) {
	a.lastSaved = in.Reading.Wall
	if len(a.unwritten) == 0 {
		err := a.journal.Record(&in, effs)
		if err == nil {
			a.committed(in, effs)
			return effs, nil
		}
		if errors.Is(err, journal.ErrDamaged) {
			return nil, fmt.Errorf("journal: %w", err)
		}
		a.journalDown(err)
	}
	a.unwritten = append(a.unwritten, unwritten{in: in, effs: effs})
	return effs, nil
}

// committed acts on what was just written.
func (a *Agent) committed(in journal.Input, effs []charge.Effect) {
	a.inputs = in.Seq
	ids := make([]string, len(effs))
	for i := range effs {
		ids[i] = journal.EntryID(in.Seq, i)
	}
	a.ents.apply(effs, ids)
	a.act(effs)
	if len(effs) > 0 {
		a.wakeSync()
	}
	if in.Seq%checkpointEvery == 0 {
		a.checkpoint()
	}
}

// flush writes what waits, in order, acting on each as it is written. Callers hold a.mu.
func (a *Agent) flush() error {
	n := len(a.unwritten)
	for len(a.unwritten) > 0 {
		u := a.unwritten[0]
		if err := a.journal.Record(&u.in, u.effs); err != nil {
			if errors.Is(err, journal.ErrDamaged) {
				return fmt.Errorf("journal: %w", err)
			}
			a.journalDown(err)
			return nil
		}
		a.unwritten[0] = unwritten{}
		a.unwritten = a.unwritten[1:]
		a.committed(u.in, u.effs)
	}
	if a.journalErr != nil {
		a.log.Warn("journal writable again; what waited is recorded and acted on", zap.Int("records", n),
			zap.Duration("unwritable_for", a.meter.Now().Sub(a.journalSince)))
		a.journalErr, a.unwritten = nil, nil
		a.tell(localapi.Message{At: a.meter.Now(), Kind: localapi.KindJournal, Title: "Charges are recorded again",
			Body: "This computer can record charges again; products that cost tokens start as usual."})
	}
	return nil
}

// journalDown notes that the journal cannot be written; the first time it says so.
func (a *Agent) journalDown(err error) {
	if a.journalErr == nil {
		a.journalSince = a.meter.Now()
		a.log.Error("journal cannot be written: launches that cost tokens are refused until it can; running products go on",
			zap.String("why", journalProblem(err)), zap.Error(err))
		a.tell(localapi.Message{At: a.meter.Now(), Kind: localapi.KindJournal, Urgent: true, Title: "This computer cannot record charges",
			Body: "New launches of products that cost tokens are refused until it can (" + journalProblem(err) + "). Products already open keep running." + a.contact()})
	}
	a.journalErr = err
}

func (a *Agent) contact() string {
	if a.cfg.AdminContact == "" {
		return ""
	}
	return " Contact " + a.cfg.AdminContact + "."
}

// journalProblem says in words why the journal cannot be written.
func journalProblem(err error) string {
	switch {
	case diskFull(err):
		return "the disk holding the agent's state folder is full"
	case errors.Is(err, syscall.EROFS):
		return "the disk holding the agent's state folder is read-only"
	case errors.Is(err, syscall.EIO):
		return "the disk holding the agent's state folder reports errors"
	}
	return "the journal cannot be written: " + err.Error()
}

// retryJournal writes what waits as soon as the journal takes it.
func (a *Agent) retryJournal(ctx context.Context) error {
	t := a.opts.Clock.NewTicker(journalRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			a.mu.Lock()
			var err error
			if len(a.unwritten) > 0 {
				err = a.flush()
			}
			a.mu.Unlock()
			if err != nil {
				return err
			}
		}
	}
}

// whileUnwritable is the decision d while the journal cannot be written: a launch that
// would open a grace, and so lead to a charge that could not be recorded, is refused.
// Callers hold a.mu.
func (a *Agent) whileUnwritable(d charge.Decision) charge.Decision {
	if a.journalErr == nil || !d.Allowed || d.Reason == charge.Subscribed || d.Reason == charge.PaidWindow {
		return d
	}
	d.Allowed, d.Reason = false, charge.JournalUnavailable
	return d
}

// refuseUnrecorded closes a launch refused while the journal cannot be written. Nothing
// of it is journaled: it never reached the meter. Callers hold a.mu.
func (a *Agent) refuseUnrecorded(key platform.ProcKey, l launch, d charge.Decision) {
	id := key.String()
	delete(a.tracked, id)
	if l.auth.Hold != "" {
		a.release(l.hold)
	}
	a.log.Warn("launch refused: the journal cannot be written", zap.String("user", l.user), zap.String("product", l.product),
		zap.Int32("pid", key.PID), zap.String("reason", string(d.Reason)))
	a.terminate(id)
	f := charge.Effect{Kind: charge.Denied, At: a.meter.Now(), Device: a.device, User: l.user, Product: l.product, Reason: d.Reason, Decision: &d}
	name := l.product
	if p, ok := a.cfg.Product(l.product); ok {
		name = nameOf(p)
	}
	if m, ok := messageFor(f, name, "", false); ok {
		if d.Reason == charge.JournalUnavailable {
			m.Body += " The cause: " + journalProblem(a.journalErr) + "."
		}
		m.Body += a.contact()
		a.tell(m)
	}
}

// journalHealth is the journal's state for status. Callers hold a.mu.
func (a *Agent) journalHealth() localapi.JournalHealth {
	h := localapi.JournalHealth{Writable: a.journalErr == nil, Waiting: len(a.unwritten), Damage: a.damages}
	if a.journalErr != nil {
		h.Problem, h.Since = journalProblem(a.journalErr), a.journalSince
	}
	return h
}
