package store

import (
	"context"
	"errors"
	"time"

	"tollgate/ledger/api"
)

// Launch decisions (authorize, release) change a team's holds and, almost always,
// nothing else. They take turns on a lock of their own, the team's decision lock, instead
// of the team's row lock, which an ingest holds for the whole of a chunk: a launch never
// waits behind bulk work, and two launches racing for the last tokens are still decided
// one after the other.
//
// An ingest changes packs and debt under the row lock meanwhile. A decision that reads
// the pool just before such a chunk commits is the decision it would have made just
// before the chunk began: a charge's debit frees the hold it pays for (the balance net
// of holds stays the same), and an unheld charge is debited as overdraft whatever was
// decided. A decision whose change is more than holds (a notice due, the team's low or
// empty flag to set, a cap's level to tell, packs to forfeit) is made again under both
// locks, as every other change to the pool is.

// errLoud ends a decision's quick attempt: the change is more than holds.
var errLoud = errors.New("the decision changes more than the team's holds")

// decide runs fn on team's pool under the team's decision lock, with before run in the
// same transaction before the lock is taken.
func (d *DB) decide(ctx context.Context, now time.Time, team string, before func(tx) error, fn func(*pool) error) error {
	d.prio.enter()
	defer d.prio.leave()
	var after api.Balance
	err := d.decision(ctx, func(t tx) error {
		if before != nil {
			if err := before(t); err != nil {
				return err
			}
		}
		l, err := loadPool(ctx, t, team, now, decisionLock)
		if err != nil {
			return err
		}
		l.releaseStale()
		p := l.pool
		if err := fn(p); err != nil {
			return err
		}
		quiet, err := p.quiet(ctx)
		if err != nil {
			return err
		}
		if !quiet {
			return errLoud
		}
		after = p.balance()
		return nil
	})
	switch {
	case errors.Is(err, errLoud):
		locked := func(t tx) error {
			if before != nil {
				if err := before(t); err != nil {
					return err
				}
			}
			return lockDecisions(ctx, t, team)
		}
		return d.lockedPools(ctx, txKind{urgent: true}, now, []string{team}, locked, func(ps map[string]*pool) error { return fn(ps[team]) })
	case err == nil && d.watch.any():
		d.watch.tell(map[string]api.Balance{team: after})
	}
	return err
}

// lockDecisions takes team's decision lock until the transaction ends. On SQLite the
// transaction holds the database's only write lock already.
func lockDecisions(ctx context.Context, t tx, team string) error {
	if t.d.dialect != Postgres {
		return nil
	}
	_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, decisionKey(team))
	return err
}

// decisionKey names team's decision lock; two teams whose names hash alike share one,
// which only makes their launches take turns.
func decisionKey(team string) string { return "tollgate decisions " + team }

// quiet reports whether what changed in p since it was loaded is its holds alone: the
// team's debt, flags and packs as loaded, and no notice due.
func (p *pool) quiet(ctx context.Context) (bool, error) {
	// On a copy: Expire and Alerts change what they find due.
	q := clonePool(p.Pool)
	if p.Debt != p.base.Debt || len(q.Expire(p.now)) > 0 {
		return false, nil
	}
	if len(q.Alerts(p.now)) > 0 || q.Low != p.Low || q.Empty != p.Empty {
		return false, nil
	}
	due, err := p.capsDue(ctx)
	return !due, err
}
