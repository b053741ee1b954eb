package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// StaleHold is how long a hold lives without being released or committed: a device that
// died in a session's grace must not keep its team's tokens set aside forever. A day is
// far longer than any grace (five minutes of use within a trailing day).
const StaleHold = charge.Day + time.Hour

type holdMeta struct {
	device, user, product string
}

// pool is a team's charge.Pool loaded under the team's row lock, with what is needed to
// write its changes back as movements.
type pool struct {
	charge.Pool
	t        tx
	now      time.Time
	base     charge.Pool // as last written
	meta     map[string]holdMeta
	name     string
	webhook  string
	products charge.Products
	debt0    int64        // the debt when the pool was locked: more at the end is an overdraw
	touched  map[use]bool // whose caps may have crossed a notice level in this change
}

func clonePool(p charge.Pool) charge.Pool {
	p.Packs = slices.Clone(p.Packs)
	p.Holds = maps.Clone(p.Holds)
	return p
}

// lockPool loads team's pool for change: the team row is locked until the transaction
// ends, so every change to one team's tokens is serialized across servers. Packs expired
// by now are forfeited and stale holds released before anything else happens.
func lockPool(ctx context.Context, t tx, team string, now time.Time) (*pool, error) {
	p, err := loadPool(ctx, t, team, now, rowLock)
	if err != nil {
		return nil, err
	}
	p.debt0 = p.Debt
	p.releaseStale()
	p.Expire(now)
	if err := p.save(ctx, api.MoveForfeit, ""); err != nil {
		return nil, err
	}
	return p.pool, nil
}

type loaded struct {
	*pool
	holdCreated map[string]int64
}

// releaseStale releases the holds older than StaleHold at the pool's time: a device that
// died in a session's grace does not keep its team's tokens set aside.
func (l loaded) releaseStale() {
	for id := range l.Holds {
		if l.holdCreated[id] < ns(l.now.Add(-StaleHold)) {
			l.Release(id)
		}
	}
}

// noTeam is the error for a team that is not there.
func noTeam(team string) error {
	return errf(api.CodeNotFound, "team %q does not exist; create it with 'tollgate ledger team create %s'", team, team)
}

// lockKind is the lock loadPool takes on the team before reading its pool.
type lockKind int

const (
	unlocked     lockKind = iota
	rowLock               // the team's row, for any change to its pool
	decisionLock          // the team's decision lock (decide.go), for a change to its holds
)

func loadPool(ctx context.Context, t tx, team string, now time.Time, lock lockKind) (loaded, error) {
	var err error
	switch lock {
	case rowLock:
		// NO KEY UPDATE: the row's key is not changed, and a launch decision inserting a
		// hold (whose foreign key takes KEY SHARE on this row) does not wait for it.
		var one int
		err = t.row(ctx, `SELECT 1 FROM teams WHERE id = ? FOR NO KEY UPDATE`, team).Scan(&one)
	case decisionLock:
		err = lockDecisions(ctx, t, team)
	}
	if err != nil {
		if isNoRows(err) {
			return loaded{}, noTeam(team)
		}
		return loaded{}, fmt.Errorf("team %s: %w", team, err)
	}
	// The team, its packs and its holds in one statement, so in one snapshot: a chunk of
	// usage committed between two reads would otherwise show its debits without the
	// holds they freed, or the other way round, to a decision that does not wait for it.
	rows, err := t.query(ctx, `SELECT 0, name, products, webhook, '', threshold_absolute, threshold_percent, debt,
			CASE WHEN low THEN 1 ELSE 0 END, CASE WHEN empty THEN 1 ELSE 0 END FROM teams WHERE id = ?
		UNION ALL SELECT 1, id, '', '', '', tokens, left_tokens, bought, 0, 0 FROM packs WHERE team = ? AND (expires > ? OR left_tokens > 0)
		UNION ALL SELECT 2, id, device, user_id, product, tokens, created, 0, 0, 0 FROM holds WHERE team = ?
		ORDER BY 1, 2`, team, team, ns(now), team)
	if err != nil {
		return loaded{}, fmt.Errorf("team %s: %w", team, err)
	}
	defer rows.Close()
	p := &pool{t: t, now: now, meta: map[string]holdMeta{}}
	p.Team = team
	created := map[string]int64{}
	found := false
	for rows.Next() {
		var kind int
		var id, a, b, c string
		var n [5]int64
		if err := rows.Scan(&kind, &id, &a, &b, &c, &n[0], &n[1], &n[2], &n[3], &n[4]); err != nil {
			return loaded{}, fmt.Errorf("team %s: %w", team, err)
		}
		switch kind {
		case 0:
			found = true
			p.name, p.webhook = id, b
			p.Threshold.Absolute, p.Threshold.Percent, p.Debt, p.Low, p.Empty = n[0], n[1], n[2], n[3] != 0, n[4] != 0
			if err := json.Unmarshal([]byte(a), &p.products); err != nil {
				return loaded{}, fmt.Errorf("team %s products: %w", team, err)
			}
		case 1:
			p.Packs = append(p.Packs, charge.Pack{Team: team, ID: id, Tokens: n[0], Left: n[1], Bought: fromNS(n[2])})
		case 2:
			p.Hold(id, n[0])
			p.meta[id] = holdMeta{device: a, user: b, product: c} // budgets count holds by user and product (rule 13)
			created[id] = n[1]
		}
	}
	if err := rows.Err(); err != nil {
		return loaded{}, fmt.Errorf("team %s: %w", team, err)
	}
	if !found {
		return loaded{}, noTeam(team)
	}
	p.base = clonePool(p.Pool)
	return loaded{p, created}, nil
}

func (p *pool) move(ctx context.Context, pack string, kind api.MoveKind, tokens, debt int64, ref string) error {
	m := newMoves()
	m.add(p, pack, kind, tokens, debt, ref)
	return m.write(ctx, p.t)
}

// moves are movements to write in one statement.
type moves struct{ *table }

func newMoves() moves {
	return moves{newTable(column{"team", text}, column{"pack", text}, column{"kind", text}, column{"tokens", bigint},
		column{"debt", bigint}, column{"happened", bigint}, column{"ref", text})}
}

func (m moves) add(p *pool, pack string, kind api.MoveKind, tokens, debt int64, ref string) {
	m.table.add(p.Team, pack, string(kind), tokens, debt, ns(p.now), ref)
}

func (m moves) write(ctx context.Context, x tx) error {
	if len(m.rows) == 0 {
		return nil
	}
	if _, err := m.insert(ctx, x, "movements", ""); err != nil {
		return fmt.Errorf("movement: %w", err)
	}
	return nil
}

// save writes what changed in the pool since it was last written, with one movement of
// the given kind per pack whose tokens changed and one for a change of debt.
func (p *pool) save(ctx context.Context, kind api.MoveKind, ref string) error {
	old := map[string]charge.Pack{}
	for _, k := range p.base.Packs {
		old[k.ID] = k
	}
	m := newMoves()
	for _, k := range p.Packs {
		o, ok := old[k.ID]
		if !ok {
			return fmt.Errorf("pack %s joined team %s without a movement", k.ID, p.Team)
		}
		if d := k.Left - o.Left; d != 0 {
			m.add(p, k.ID, kind, d, 0, ref)
		}
	}
	if d := p.Debt - p.base.Debt; d != 0 {
		m.add(p, "", kind, 0, d, ref)
	}
	if err := m.write(ctx, p.t); err != nil {
		return err
	}
	return p.flush(ctx)
}

// flush writes the pool's rows (packs, holds, the team's debt and alert state) as they
// now are, for changes whose movements are written already: one statement per pack
// whose tokens changed, and at most one for each of the rest.
func (p *pool) flush(ctx context.Context) error {
	old := map[string]charge.Pack{}
	for _, k := range p.base.Packs {
		old[k.ID] = k
	}
	for _, k := range p.Packs {
		o, ok := old[k.ID]
		if !ok {
			return fmt.Errorf("pack %s joined team %s without a movement", k.ID, p.Team)
		}
		if k.Left != o.Left {
			if _, err := p.t.exec(ctx, `UPDATE packs SET left_tokens = ? WHERE id = ?`, k.Left, k.ID); err != nil {
				return fmt.Errorf("pack %s: %w", k.ID, err)
			}
		}
	}
	for id, n := range p.Holds {
		was, ok := p.base.Holds[id]
		switch {
		case !ok:
			m := p.meta[id]
			if _, err := p.t.exec(ctx, `INSERT INTO holds (team, id, device, user_id, product, tokens, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				p.Team, id, m.device, m.user, m.product, n, ns(p.now)); err != nil {
				return fmt.Errorf("hold: %w", err)
			}
		case was != n:
			if _, err := p.t.exec(ctx, `UPDATE holds SET tokens = ?, created = ? WHERE team = ? AND id = ?`, n, ns(p.now), p.Team, id); err != nil {
				return fmt.Errorf("hold: %w", err)
			}
		}
	}
	var gone []string
	for id := range p.base.Holds {
		if _, ok := p.Holds[id]; !ok {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		cond, args := in(p.t.d, "id", gone)
		if _, err := p.t.exec(ctx, `DELETE FROM holds WHERE team = ? AND `+cond, append([]any{p.Team}, args...)...); err != nil {
			return fmt.Errorf("hold: %w", err)
		}
	}
	if p.Debt != p.base.Debt || p.Low != p.base.Low || p.Empty != p.base.Empty {
		if _, err := p.t.exec(ctx, `UPDATE teams SET debt = ?, low = ?, empty = ? WHERE id = ?`, p.Debt, p.Low, p.Empty, p.Team); err != nil {
			return fmt.Errorf("team %s: %w", p.Team, err)
		}
	}
	p.base = clonePool(p.Pool)
	return nil
}

// add puts a pack into the pool (bought, or moved in from another team) with a movement
// of its tokens, then pays any debt from it as charge.Pool.Add does.
func (p *pool) add(ctx context.Context, k charge.Pack, kind api.MoveKind) error {
	if err := p.move(ctx, k.ID, kind, k.Left, 0, ""); err != nil {
		return err
	}
	k.Team = p.Team
	p.base.Packs = append(p.base.Packs, k)
	p.Add(k, p.now)
	return p.save(ctx, api.MoveDebtPaid, k.ID)
}

// take removes a whole pack from the pool for a transfer.
func (p *pool) take(ctx context.Context, id string, tokens int64) (charge.Pack, error) {
	k, err := p.Take(id, tokens, p.now)
	if err != nil {
		return charge.Pack{}, err
	}
	p.base.Packs = slices.DeleteFunc(p.base.Packs, func(o charge.Pack) bool { return o.ID == id })
	return k, p.move(ctx, k.ID, api.MoveTransferOut, -k.Left, 0, "")
}

// finish raises the low-balance notices due after the pool's changes and writes them to
// the outbox in the same transaction, so a notice exists exactly when its cause does.
func (p *pool) finish(ctx context.Context) error {
	for _, a := range p.Alerts(p.now) {
		if err := notify(ctx, p.t, p.Team, api.NoticeKind(a.Kind), a, p.now); err != nil {
			return err
		}
	}
	if err := p.budgetNotices(ctx); err != nil {
		return err
	}
	if err := p.overdrawn(ctx); err != nil {
		return err
	}
	return p.save(ctx, "alert", "")
}

// balance is the pool's figures at now.
func (p *pool) balance() api.Balance {
	return api.Balance{
		Unexpired: p.Unexpired(p.now),
		Held:      p.Held(),
		Debt:      p.Debt,
		Available: p.Available(p.now),
		Limit:     p.Limit(p.now),
		Low:       p.Low,
		Empty:     p.Empty,
	}
}

func notify(ctx context.Context, t tx, team string, kind api.NoticeKind, payload any, now time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO notifications (team, kind, payload, created, next_attempt) VALUES (?, ?, ?, ?, ?)`,
		team, string(kind), string(b), ns(now), ns(now))
	if err != nil {
		return fmt.Errorf("notification: %w", err)
	}
	return nil
}

// withPools runs fn with the pools of teams locked, in a sorted order so that two
// transfers in opposite directions cannot deadlock.
func (d *DB) withPools(ctx context.Context, now time.Time, teams []string, fn func(map[string]*pool) error) error {
	return d.withPoolsAfter(ctx, now, teams, nil, fn)
}

// withPoolsAfter is withPools running before, if not nil, in the same transaction before
// the pools are locked: reads that need no lock do not lengthen its hold.
func (d *DB) withPoolsAfter(ctx context.Context, now time.Time, teams []string, before func(tx) error, fn func(map[string]*pool) error) error {
	return d.lockedPools(ctx, txKind{}, now, teams, before, fn)
}

// lockedPools is withPoolsAfter in a transaction of the given kind.
func (d *DB) lockedPools(ctx context.Context, kind txKind, now time.Time, teams []string, before func(tx) error, fn func(map[string]*pool) error) error {
	order := slices.Clone(teams)
	slices.Sort(order)
	order = slices.Compact(order)
	var after map[string]api.Balance
	err := d.inTx(ctx, kind, func(t tx) error {
		after = nil // a retried transaction starts over
		if before != nil {
			if err := before(t); err != nil {
				return err
			}
		}
		ps := map[string]*pool{}
		for _, team := range order {
			p, err := lockPool(ctx, t, team, now)
			if err != nil {
				return err
			}
			ps[team] = p
		}
		if err := fn(ps); err != nil {
			return err
		}
		for _, team := range order {
			if err := ps[team].finish(ctx); err != nil {
				return err
			}
		}
		if d.watch.any() {
			after = map[string]api.Balance{}
			for _, team := range order {
				after[team] = ps[team].balance()
			}
		}
		return nil
	})
	if err == nil {
		d.watch.tell(after)
	}
	return err
}

func (d *DB) withPool(ctx context.Context, now time.Time, team string, fn func(*pool) error) error {
	return d.withPoolAfter(ctx, now, team, nil, fn)
}

func (d *DB) withPoolAfter(ctx context.Context, now time.Time, team string, before func(tx) error, fn func(*pool) error) error {
	return d.withPoolsAfter(ctx, now, []string{team}, before, func(ps map[string]*pool) error { return fn(ps[team]) })
}
