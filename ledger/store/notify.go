package store

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"sync"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

func checkWebhook(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errf(api.CodeBadRequest, "webhook %q: want an http:// or https:// URL", raw)
	}
	return nil
}

// Delivery is a notification claimed for delivery to its team's webhook.
type Delivery struct {
	api.Notification
	Webhook string
	Secret  string // signs the body; empty for a webhook set before signing existed
}

// Claim takes up to limit notifications due at now and leases them for lease, so that
// another server does not deliver them at the same time.
func (d *DB) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	var out []Delivery
	err := d.write(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT n.id, n.team, n.kind, n.payload, n.created, n.attempts, t.webhook, t.webhook_secret
			FROM notifications n JOIN teams t ON t.id = n.team
			WHERE n.delivered = 0 AND n.gave_up = FALSE AND n.next_attempt <= ? ORDER BY n.id LIMIT ?`, ns(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v Delivery
			var payload string
			var created int64
			if err := rows.Scan(&v.ID, &v.Team, &v.Kind, &payload, &created, &v.Attempts, &v.Webhook, &v.Secret); err != nil {
				rows.Close()
				return err
			}
			v.Payload, v.Created = json.RawMessage(payload), fromNS(created)
			out = append(out, v)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, v := range out {
			if _, err := x.exec(ctx, `UPDATE notifications SET next_attempt = ? WHERE id = ?`, ns(now.Add(lease)), v.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Delivered records a notification's delivery, or its failure: a failed one is tried
// again at next, unless giveUp.
func (d *DB) Delivered(ctx context.Context, id int64, now time.Time, failure string, next time.Time, giveUp bool) error {
	return d.write(ctx, func(x tx) error {
		var err error
		if failure == "" {
			_, err = x.exec(ctx, `UPDATE notifications SET delivered = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, ns(now), id)
		} else {
			_, err = x.exec(ctx, `UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_attempt = ?, gave_up = ? WHERE id = ?`,
				failure, ns(next), giveUp, id)
		}
		return err
	})
}

// Notifications lists a team's notifications, the newest first.
func (d *DB) Notifications(ctx context.Context, team string) ([]api.Notification, error) {
	out := []api.Notification{}
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT id, team, kind, payload, created, attempts, delivered, gave_up, last_error FROM notifications WHERE team = ? ORDER BY id DESC`, team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n api.Notification
			var payload string
			var created, delivered int64
			if err := rows.Scan(&n.ID, &n.Team, &n.Kind, &payload, &created, &n.Attempts, &delivered, &n.GaveUp, &n.LastError); err != nil {
				return err
			}
			n.Payload, n.Created, n.Delivered = json.RawMessage(payload), fromNS(created), fromNS(delivered)
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// Sweep does what time alone causes, for every team: packs expired by now are forfeited,
// stale holds released, low-balance notices raised, and packs that will expire within
// 90 days announced once each.
func (d *DB) Sweep(ctx context.Context, now time.Time) error {
	var teams []string
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT id FROM teams ORDER BY id`)
		if err != nil {
			return err
		}
		teams, err = scanStrings(rows)
		return err
	})
	if err != nil {
		return err
	}
	for _, team := range teams {
		err := d.withPool(ctx, now, team, func(p *pool) error {
			var fresh []api.Pack
			for _, k := range p.ExpiringWithin(now, charge.Expiring) {
				var done bool
				if err := p.t.row(ctx, `SELECT expiry_notified FROM packs WHERE id = ?`, k.ID).Scan(&done); err != nil {
					return err
				}
				if done {
					continue
				}
				fresh = append(fresh, api.Pack{Pack: k, Expires: k.Expires()})
				if _, err := p.t.exec(ctx, `UPDATE packs SET expiry_notified = TRUE WHERE id = ?`, k.ID); err != nil {
					return err
				}
			}
			if len(fresh) == 0 {
				return nil
			}
			return notify(ctx, p.t, team, api.NoticeExpiring, api.Expiring{Team: team, Packs: fresh}, now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Overdraw is the notice that a renewal took a team's pool into debt: sent at every
// overdraw, with the debt, so that admins learn of it when it happens (rule 7).
type Overdraw struct {
	Kind      api.NoticeKind `json:"kind"` // NoticeOverdraw
	Team      string         `json:"team"`
	Debt      int64          `json:"debt"`      // what the team owes now
	Added     int64          `json:"added"`     // what this change added to it
	Available int64          `json:"available"` // tokens left to launch with: 0 while in debt
	At        time.Time      `json:"at"`
}

// overdrawn raises the overdraw notice when the pool's debt grew since it was locked.
func (p *pool) overdrawn(ctx context.Context) error {
	if p.Debt <= p.debt0 {
		return nil
	}
	n := Overdraw{Kind: api.NoticeOverdraw, Team: p.Team, Debt: p.Debt, Added: p.Debt - p.debt0, Available: max(0, p.Available(p.now)), At: p.now}
	p.debt0 = p.Debt
	return notify(ctx, p.t, p.Team, n.Kind, n, p.now)
}

// balanceWatchers are told each team's balance after a change to it is committed, so
// that a reader (the metrics) keeps figures without scanning the database.
type balanceWatchers struct {
	mu  sync.Mutex
	fns []func(team string, b api.Balance)
}

// WatchBalances calls fn with a team's balance after every committed change to its pool.
// Changes committed at once by other servers on the same database are not seen.
func (d *DB) WatchBalances(fn func(team string, b api.Balance)) {
	d.watch.mu.Lock()
	defer d.watch.mu.Unlock()
	d.watch.fns = append(d.watch.fns, fn)
}

func (w *balanceWatchers) any() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.fns) > 0
}

func (w *balanceWatchers) tell(after map[string]api.Balance) {
	if len(after) == 0 {
		return
	}
	w.mu.Lock()
	fns := slices.Clone(w.fns)
	w.mu.Unlock()
	for team, b := range after {
		for _, fn := range fns {
			fn(team, b)
		}
	}
}
