package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/platform"
)

// record runs one meter call, journals it with the answers it was given and the effects
// that came of it, and only then acts on those effects. An uneventful tick is journaled
// only as a heartbeat. Callers hold a.mu. A journal that cannot be written holds the
// input and its effects back until it can (commit): they are returned, not yet acted on,
// and a.unwritten is not empty. Only a damaged journal is fatal.
func (a *Agent) record(in journal.Input, call func(charge.Entitlements) []charge.Effect) ([]charge.Effect, error) {
	rec := &recorder{src: a.ents}
	effs := call(rec)
	in.Answers = rec.answers
	a.lastRead = in.Reading
	beat := heartbeat
	if len(a.tracked) > 0 {
		beat = heartbeatRunning
	}
	if in.Kind == journal.Advance && len(effs) == 0 && in.Reading.Wall.Sub(a.lastSaved) < beat {
		return nil, nil
	}
	return a.commit(in, effs)
}

// checkpoint saves the meter's state so the journal need not replay from the beginning.
// Failing to is not fatal: the inputs are still there.
func (a *Agent) checkpoint() {
	if a.inputs == 0 || len(a.unwritten) > 0 {
		return // the meter is ahead of the journal: its state would include what is unwritten
	}
	if err := a.journal.Checkpoint(a.inputs, a.meter.Save()); err != nil {
		a.log.Warn("journal checkpoint", zap.Error(err))
		return
	}
	if _, err := a.journal.Prune(a.meter.Now().Add(-keepSent)); err != nil {
		a.log.Warn("journal prune", zap.Error(err))
	}
}

// onDiff handles what the process source saw. The first diff after start lists every
// running process: those the journal knew are still in their sessions, and those it knew
// that are gone ended while the agent was not looking.
func (a *Agent) onDiff(d platform.Diff) {
	a.swap.RLock() // the whole diff is decided by one configuration
	defer a.swap.RUnlock()
	a.mu.Lock()
	wake := a.first && a.meter.Sleeping() && a.link != nil
	var users []string
	if wake {
		users = a.asleepUsers() // stopped between a sleep and its wake: reconcile wakes the meter
	}
	a.mu.Unlock()
	if wake {
		a.refreshAsleep(users)
	}
	asked := a.ask(d)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.handleDiff(d, asked); err != nil {
		a.fail(err)
	}
}

// launch is a product process about to be decided, with the ledger's answer when it
// gave one.
type launch struct {
	product string
	user    string
	hold    string
	auth    api.Authorized
	online  bool
}

// ask matches new processes to products and, with a ledger, asks it about each launch
// that would start a grace, before taking the agent's lock: a slow ledger holds up that
// launch's decision, never the agent.
func (a *Agent) ask(d platform.Diff) map[string]launch {
	cfg := a.config()
	out := map[string]launch{}
	for _, p := range d.Started {
		id := p.Key.String()
		exe := p.Exe
		if exe == "" {
			exe = p.Name
		}
		prod, ok := cfg.Match(exe, p.Args, goos())
		if !ok {
			continue
		}
		user, err := cfg.User(p.User, p.Domain)
		if err != nil {
			// An account without a name (a directory user on a static Linux build, which
			// reads /etc/passwd only) maps through the table by uid, or to no one, and no
			// one is assigned to a pool.
			user = "uid:" + strconv.Itoa(p.UID)
			if u, ok := cfg.Identity.Table[user]; ok {
				user = u
			} else {
				a.log.Warn("process user not mapped", zap.Int32("pid", p.Key.PID), zap.Error(err))
			}
		}
		l := launch{product: prod.ID, user: user, hold: charge.LaunchHold(a.device, id)}
		a.mu.Lock()
		_, known := a.tracked[id]
		_, ask, joins := a.consult(user, prod.ID)
		a.mu.Unlock()
		switch {
		case known || !ask:
		case joins:
			// A process joining the user's session takes no new hold; a fresh snapshot
			// may still close the session (a restriction, an unassignment).
			a.refreshNow(user)
		default:
			l.auth, l.online = a.authorize(user, prod.ID, l.hold)
		}
		out[id] = l
	}
	return out
}

func (a *Agent) handleDiff(d platform.Diff, asked map[string]launch) error {
	if a.first {
		if err := a.reconcile(d); err != nil {
			return err
		}
	}
	r := a.reading()
	for _, k := range d.Exited {
		id := k.String()
		if _, ok := a.tracked[id]; !ok {
			continue
		}
		if err := a.exited(r, id); err != nil {
			return err
		}
	}
	for _, p := range d.Started {
		id := p.Key.String()
		l, ok := asked[id]
		if _, known := a.tracked[id]; known || !ok {
			continue
		}
		if err := a.started(r, p.Key, l); err != nil {
			return err
		}
	}
	return nil
}

// reconcile handles the first diff after start, which lists every running process. The
// journal's processes that are gone ended while the agent was down, at an instant it cannot
// know: they are taken to have ended at the last instant the journal saw them running, so
// that the time the agent was down is never charged as use. Only then does time move on to
// now (as no use: see monoBase). Until this has run the clock does not move the meter.
func (a *Agent) reconcile(d platform.Diff) error {
	a.first = false
	seen := map[string]bool{}
	for _, p := range d.Started {
		seen[p.Key.String()] = true
	}
	last := a.lastRead
	for _, id := range slices.Sorted(maps.Keys(a.tracked)) {
		if seen[id] {
			continue
		}
		a.log.Info("process ended while the agent was down; taken to have ended when last seen", zap.String("id", id), zap.Time("seen", last.Wall))
		if err := a.exited(last, id); err != nil {
			return err
		}
	}
	r := a.reading()
	if a.meter.Sleeping() {
		// Stopped between a sleep and its wake: the products still open are decided now.
		_, err := a.record(journal.Input{Kind: journal.Wake, Reading: r}, func(e charge.Entitlements) []charge.Effect {
			return a.meter.Wake(r, e)
		})
		return err
	}
	_, err := a.record(journal.Input{Kind: journal.Advance, Reading: r}, func(e charge.Entitlements) []charge.Effect {
		return a.meter.Advance(r, e)
	})
	return err
}

// exited records that a tracked process is gone.
func (a *Agent) exited(r charge.Reading, id string) error {
	delete(a.tracked, id)
	_, err := a.record(journal.Input{Kind: journal.Exit, Reading: r, Proc: charge.Proc{ID: id}}, func(e charge.Entitlements) []charge.Effect {
		return a.meter.Exit(r, id, e)
	})
	return err
}

func (a *Agent) started(r charge.Reading, key platform.ProcKey, l launch) error {
	id := key.String()
	a.tracked[id] = key
	proc := charge.Proc{ID: id, User: l.user, Product: l.product}
	if a.link != nil {
		// Named even when the ledger did not answer: a hold it placed before the answer
		// was lost is then settled by this session's charge or release.
		proc.Hold = l.hold
	}
	if l.online {
		// The ledger's answer is the freshest fact: the meter decides from it, and the
		// session's hold is the one the ledger placed.
		e := a.ents.Entitlement(l.user)
		e.Available, e.AsOf = l.auth.Decision.Available, l.auth.ServerTime
		if b := l.auth.Decision.Budget; b != nil {
			// The cap the ledger found full, counted under its lock, is fresher than
			// the snapshot's count of it (rule 13).
			e.Budgets = append([]charge.Budget{*b}, e.Budgets...)
		}
		a.ents.setOverride(e)
		defer a.ents.clearOverride(l.user)
	}
	if a.journalErr != nil {
		if d := a.whileUnwritable(a.meter.Check(l.user, l.product, a.ents)); !d.Allowed {
			a.refuseUnrecorded(key, l, d)
			return nil
		}
	}
	var dec charge.Decision
	effs, err := a.record(journal.Input{Kind: journal.Start, Reading: r, Proc: proc}, func(e charge.Entitlements) []charge.Effect {
		var effs []charge.Effect
		dec, effs = a.meter.Start(r, proc, e)
		return effs
	})
	if err != nil {
		return err
	}
	a.log.Info("launch decided", zap.String("user", l.user), zap.String("product", l.product), zap.Int32("pid", key.PID),
		zap.Bool("allowed", dec.Allowed), zap.String("reason", string(dec.Reason)), zap.Bool("ledger", l.online))
	switch {
	case l.auth.Hold == "":
	case len(a.unwritten) > 0:
		// Not written yet: a hold the meter took goes to the ledger as its Held entry, once
		// written, and the ledger knows it by name; one it did not take is released.
		if !tookHold(effs, l.hold) {
			a.release(l.hold)
		}
	default:
		if err := a.settleHold(effs, l); err != nil {
			return err
		}
	}
	if !dec.Allowed {
		return a.exited(r, id)
	}
	return nil
}

func tookHold(effs []charge.Effect, hold string) bool {
	for _, f := range effs {
		if f.Kind == charge.Held && f.HoldID() == hold {
			return true
		}
	}
	return false
}

// settleHold matches the hold the ledger placed with the meter's decision: the meter's
// Held effect is then already answered; a hold the meter did not take is released.
func (a *Agent) settleHold(effs []charge.Effect, l launch) error {
	for i, f := range effs {
		if f.Kind == charge.Held && f.HoldID() == l.hold {
			id := journal.EntryID(a.inputs, i)
			if err := a.journal.MarkSent(map[string]journal.Answer{id: journal.Held}, l.auth.ServerTime); err != nil {
				// Unmarked, the hold is sent again and the ledger takes it as a duplicate.
				a.log.Warn("journal: hold not marked placed", zap.String("entry", id), zap.Error(err))
				return nil
			}
			a.ents.answered([]string{id}, l.auth.ServerTime)
			return nil
		}
	}
	a.release(l.hold)
	return nil
}

// advance moves the meter to the clock's time. A gap that the monotonic clock did not see
// is sleep: the sessions end at the last reading and restart now.
func (a *Agent) advance() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.first {
		return nil // the journal's processes are reconciled with the OS's first
	}
	last := a.lastRead
	r := a.reading()
	if !last.Wall.IsZero() && r.Wall.Sub(last.Wall)-(r.Mono-last.Mono) > sleepGap && r.Mono >= last.Mono {
		if _, err := a.record(journal.Input{Kind: journal.Sleep, Reading: last}, func(e charge.Entitlements) []charge.Effect {
			return a.meter.Sleep(last, e)
		}); err != nil {
			return err
		}
		if a.link != nil {
			// What the agent knew before the sleep may be too old to decide from now: it asks
			// the ledger first, so that a reachable ledger never leaves a product closed as
			// offline too long. The meter sleeps meanwhile; processes that start or exit are
			// kept for the wake.
			users := a.asleepUsers()
			a.mu.Unlock()
			a.refreshAsleep(users)
			a.mu.Lock()
			r = a.reading()
		}
		_, err := a.record(journal.Input{Kind: journal.Wake, Reading: r}, func(e charge.Entitlements) []charge.Effect {
			return a.meter.Wake(r, e)
		})
		return err
	}
	_, err := a.record(journal.Input{Kind: journal.Advance, Reading: r}, func(e charge.Entitlements) []charge.Effect {
		return a.meter.Advance(r, e)
	})
	if err != nil {
		return err
	}
	return a.nightly(r)
}

// asleepUsers lists the users whose products are to be decided at wake, and marks the
// agent waking: the ledger's answers then move no clock (refresh), as the meter sleeps.
// Callers hold a.mu and call refreshAsleep next.
func (a *Agent) asleepUsers() []string {
	users := map[string]bool{}
	for _, p := range a.meter.Asleep() {
		users[p.User] = true
	}
	a.waking.Store(true)
	return slices.Sorted(maps.Keys(users))
}

// refreshAsleep asks the ledger for the snapshots of users, within a few seconds; a ledger
// that does not answer leaves the last snapshot, and the offline allowance, to decide.
// Called without a.mu.
func (a *Agent) refreshAsleep(users []string) {
	defer a.waking.Store(false)
	a.mu.Lock()
	ctx := a.runCtx
	a.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, wakeAsk)
	defer cancel()
	for _, u := range users {
		if err := a.refresh(ctx, u); err != nil {
			a.log.Warn("ledger not reached at wake; deciding from the last snapshot", zap.String("user", u), zap.Error(err))
		}
	}
}

// reading reads the clock; a wall clock that went back is the meter's to flag.
func (a *Agent) reading() charge.Reading {
	r := readClock(a.opts.Clock)
	r.Wall = r.Wall.Add(time.Duration(a.offset.Load()))
	r.Mono += a.monoBase
	return r
}

// act carries out effects that were journaled: closing processes, telling people.
func (a *Agent) act(effs []charge.Effect) {
	for _, f := range effs {
		a.log.Info("effect", zap.String("kind", string(f.Kind)), zap.String("user", f.User), zap.String("product", f.Product),
			zap.Int64("tokens", f.Tokens), zap.String("key", keyOf(f)), zap.Time("at", f.At))
		switch f.Kind {
		case charge.Denied, charge.Close:
			for _, id := range f.Procs {
				if f.Reason == charge.Idle {
					a.askClose(id)
				} else {
					a.terminate(id)
				}
			}
		case charge.Rollback:
			a.rollbacks++
			a.log.Warn("wall clock moved backwards; time held at its high-water mark", zap.Time("from", f.From), zap.Time("to", f.Until))
		}
		name := f.Product
		if p, ok := a.cfg.Product(f.Product); ok && p.Name != "" {
			name = p.Name
		}
		if m, ok := messageFor(f, name, a.cfg.AdminContact, a.cfg.Policy.GraceNotice); ok {
			a.tell(m)
		}
		if f.Kind == charge.Charged {
			a.lowBalance(f, name)
		}
	}
}

// lowDays is how many more days of the product just charged a team's balance must cover
// before its users are told it is running low.
const lowDays = 3

// lowBalance tells the user, once until it is topped up, that their team's tokens are
// running low; the ledger tells the admins by their own threshold.
func (a *Agent) lowBalance(f charge.Effect, name string) {
	avail := a.ents.Entitlement(f.User).Available
	low := avail < lowDays*f.Tokens
	if !low {
		delete(a.warnedLow, f.Key.Team)
		return
	}
	if a.warnedLow[f.Key.Team] {
		return
	}
	a.warnedLow[f.Key.Team] = true
	days := "days"
	if max(avail, 0)/f.Tokens == 1 {
		days = "day"
	}
	body := fmt.Sprintf("Your team has %d tokens left: %d more %s of %s.", max(avail, 0), max(avail, 0)/f.Tokens, days, name)
	if a.link != nil {
		body += " Your administrator is told when tokens run low."
	} else if a.cfg.AdminContact != "" {
		body += " Tell " + a.cfg.AdminContact + "."
	}
	a.tell(localapi.Message{At: f.At, User: f.User, Product: f.Product, Kind: localapi.KindLowBalance, Title: "Tokens running low", Body: body})
}

func keyOf(f charge.Effect) string {
	if f.Key.Product == "" {
		return ""
	}
	return f.Key.String()
}

// terminate closes a denied process: asked first, killed after the grace. It runs apart
// from the lock, and Run waits for it before returning.
func (a *Agent) terminate(id string) {
	key, err := parseProcKey(id)
	if err != nil {
		a.log.Error("cannot close process", zap.String("id", id), zap.Error(err))
		return
	}
	ctx := a.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	a.closing.Add(1)
	go func() {
		defer a.closing.Done()
		how, err := a.opts.Terminate(context.WithoutCancel(ctx), key, a.opts.CloseGrace)
		switch {
		case errors.Is(err, platform.ErrNoProcess):
			a.log.Info("denied process already gone", zap.Int32("pid", key.PID))
			return
		case err != nil:
			a.log.Error("could not close a denied process", zap.Int32("pid", key.PID), zap.Error(err))
			return
		}
		a.log.Info("denied process closed", zap.Int32("pid", key.PID), zap.Stringer("how", how))
	}()
}

// Subscribe delivers the messages told to user ("" for everyone's) until cancel is
// called. A subscriber that does not keep up loses messages; it never stalls the agent.
func (a *Agent) Subscribe(user string) (<-chan localapi.Message, func()) {
	ch := make(chan localapi.Message, 64)
	a.mu.Lock()
	a.subs[ch] = user
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}

// endStreams ends every subscription, when who an OS account is may have changed: each
// notifier reconnects and is subscribed as its caller maps now. The caller holds a.mu.
func (a *Agent) endStreams() {
	for ch := range a.subs {
		close(ch)
		delete(a.subs, ch)
	}
}

// tell keeps a message for `status` and hands it to the user's notifiers.
func (a *Agent) tell(m localapi.Message) {
	a.messages = append(a.messages, m)
	if len(a.messages) > keepMessages {
		a.messages = a.messages[len(a.messages)-keepMessages:]
	}
	for ch, user := range a.subs {
		if user != "" && user != m.User {
			continue
		}
		select {
		case ch <- m:
		default: // a notifier that does not read loses messages, never stalls the agent
		}
	}
}

func (a *Agent) fail(err error) {
	a.log.Error("fatal", zap.Error(err))
	if a.cancel != nil {
		a.cancel(err)
	}
}

func parseProcKey(id string) (platform.ProcKey, error) {
	pid, created, ok := strings.Cut(id, "@")
	p, err1 := strconv.ParseInt(pid, 10, 32)
	c, err2 := strconv.ParseInt(created, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return platform.ProcKey{}, fmt.Errorf("process id %q is not pid@created", id)
	}
	return platform.ProcKey{PID: int32(p), Created: c}, nil
}
