package agent

import (
	"context"

	"go.uber.org/zap"

	"tollgate/agent/journal"
	"tollgate/charge"
)

// One path decides what a launch gets: the process watcher for a real launch, and
// `tollgate check` (and `launch`, which asks check) for one about to happen. Both take the
// meter's decision from local state and, with a ledger, ask it first when that decision
// would start a grace, join one, or deny: the cache may be behind (tokens bought, a user
// just assigned or restricted). A real launch asks the ledger to authorize and hold; a
// check only refreshes the snapshot, so that it places nothing.

// consult is the local decision for user and product, and whether the ledger must be
// asked before it stands. Callers hold a.mu.
func (a *Agent) consult(user, product string) (d charge.Decision, ask, joins bool) {
	d = a.meter.Check(user, product, a.ents)
	for _, s := range a.meter.Sessions() {
		if s.User == user && s.Product == product {
			joins = true
		}
	}
	if a.link == nil {
		return d, false, joins
	}
	return d, d.Reason == charge.InGrace || !d.Allowed, joins
}

// wouldLaunch answers `tollgate check`: what a launch of product by user would get now.
func (a *Agent) wouldLaunch(user, product string) charge.Decision {
	a.mu.Lock()
	d, ask, _ := a.consult(user, product)
	d = a.whileUnwritable(d)
	a.mu.Unlock()
	if !ask || !a.refreshNow(user) {
		return d
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.whileUnwritable(a.meter.Check(user, product, a.ents))
}

// refreshNow fetches user's snapshot within the time a launch waits for the ledger,
// unless the ledger is known to be unreachable.
func (a *Agent) refreshNow(user string) bool {
	if !a.link.state().Online {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	return a.refresh(ctx, user) == nil
}

// recheck re-decides user's sessions in grace on what was just learnt of them (a new
// snapshot): an assignment removed, a restriction added or a subscription begun applies
// at once, before any charge. Callers hold a.mu.
func (a *Agent) recheckLocked(user string) error {
	inGrace := false
	for _, s := range a.meter.Sessions() {
		if s.User == user && s.State == charge.PhaseGrace {
			inGrace = true
		}
	}
	if !inGrace {
		return nil
	}
	// At the last reading, not a new one: a recheck moves no clock, so a sleep between
	// readings is still seen as one by the next advance.
	r := a.lastRead
	if r.Wall.IsZero() {
		r = a.reading()
	}
	effs, err := a.record(journal.Input{Kind: journal.Recheck, Reading: r, Proc: charge.Proc{User: user}}, func(e charge.Entitlements) []charge.Effect {
		return a.meter.Recheck(r, user, e)
	})
	for _, f := range effs {
		if f.Kind == charge.Close {
			a.log.Info("session in grace closed by its user's new entitlement", zap.String("user", user), zap.String("product", f.Product),
				zap.String("reason", string(f.Reason)))
		}
	}
	return err
}

func (a *Agent) recheck(user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.recheckLocked(user); err != nil {
		a.fail(err)
	}
}

// refreshBeforeCharge asks the ledger about the users whose grace ends by the next
// reading, so that a restriction, an unassignment or a subscription the admin made
// during the grace is known before the charge commits. Offline, the charge commits on
// what is known, as every offline charge does.
func (a *Agent) refreshBeforeCharge() {
	if a.link == nil || !a.link.state().Online {
		return
	}
	a.mu.Lock()
	r := a.reading()
	if last := a.lastRead; !last.Wall.IsZero() && r.Wall.Sub(last.Wall)-(r.Mono-last.Mono) > sleepGap {
		a.mu.Unlock()
		return // a sleep: advance asks the ledger at the wake
	}
	ahead := r.Wall.Sub(a.meter.Now())
	var users []string
	now := a.elapsed()
	for u, at := range a.preCharge {
		if now-at >= refreshEvery {
			delete(a.preCharge, u)
		}
	}
	for _, s := range a.meter.Sessions() {
		if s.State != charge.PhaseGrace || !s.Running || s.GraceLeft > ahead {
			continue
		}
		if _, ok := a.preCharge[s.User]; ok {
			continue // asked within refreshEvery (older ones were dropped above); the charge is being decided
		}
		a.preCharge[s.User] = now
		users = append(users, s.User)
	}
	a.mu.Unlock()
	for _, u := range users {
		a.refreshNow(u)
	}
}
