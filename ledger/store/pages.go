package store

import (
	"context"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// The console's pages read these narrow queries rather than the reports: each groups in
// SQL what its page shows, so that a page reads about one row per line it prints, not one
// per event. Days are UTC days: a time in ns divided by dayNS, written into the SQL as a
// literal so that PostgreSQL sees one expression in SELECT and GROUP BY.
const (
	dayNS  = int64(24 * time.Hour)
	perDay = "86400000000000"
)

// UseSummaries counts, per user and product, the use of [from, to) the advisor judges,
// with each pair's first use ever: one grouped query over the span, and a probe of the
// pair's row of first_use (migration 191, kept by ingest) for the first use. The span is
// a range of events_usage (migration 171), grouped per day in the index's order, so that
// only the days' lines are sorted, not the events.
func (d *DB) UseSummaries(ctx context.Context, team string, from, to time.Time) ([]api.UseSummary, error) {
	var out []api.UseSummary
	err := d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		q, err := x.query(ctx, `SELECT u.user_id, u.product, u.charged, u.subscribed, u.tokens,
				(SELECT f.happened FROM first_use f WHERE f.team = ? AND f.user_id = u.user_id AND f.product = u.product)
			FROM (SELECT user_id, product,
					SUM(CASE WHEN c > 0 THEN 1 ELSE 0 END) AS charged,
					SUM(CASE WHEN c = 0 AND s > 0 THEN 1 ELSE 0 END) AS subscribed,
					SUM(tk) AS tokens
				FROM (SELECT e.user_id, e.product, e.happened / `+perDay+` AS d,
						SUM(CASE WHEN e.kind = 'charged' AND e.status = 'accepted' THEN 1 ELSE 0 END) AS c,
						SUM(CASE WHEN e.kind = 'opened' AND e.reason = '`+string(charge.Subscribed)+`' THEN 1 ELSE 0 END) AS s,
						SUM(CASE WHEN e.kind = 'charged' AND e.status = 'accepted' THEN e.tokens ELSE 0 END) AS tk
					FROM events e
					WHERE `+usageSpan+`
					GROUP BY e.happened / `+perDay+`, e.product, e.user_id) per_day
				GROUP BY user_id, product) u
			ORDER BY u.user_id, u.product`, append([]any{team}, spanArgs(team, from, to)...)...)
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var u api.UseSummary
			var first *int64
			if err := q.Scan(&u.User, &u.Product, &u.ChargedDays, &u.SubDays, &u.Tokens, &first); err != nil {
				return err
			}
			if first != nil {
				u.First = fromNS(*first)
			}
			out = append(out, u)
		}
		return q.Err()
	})
	return out, err
}

// DailyTokens is the tokens charged per UTC day of [from, to), for the forecast, by the
// windows' starts as the token report counts them.
func (d *DB) DailyTokens(ctx context.Context, team string, from, to time.Time) ([]api.TokenDay, error) {
	out := []api.TokenDay{}
	err := d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		q, err := x.query(ctx, `SELECT start / `+perDay+`, COUNT(*), SUM(tokens) FROM charges WHERE team = ? AND start >= ? AND start < ? GROUP BY start / `+perDay+` ORDER BY 1`,
			team, ns(from), ns(to))
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var n int64
			r := api.TokenDay{Team: team}
			if err := q.Scan(&n, &r.Charges, &r.Tokens); err != nil {
				return err
			}
			r.Day = day(time.Unix(0, n*dayNS))
			out = append(out, r)
		}
		return q.Err()
	})
	return out, err
}

// BalanceHistory is the balance before from and its change per UTC day of [from, to),
// with the team's packs at now: what the balance page draws.
func (d *DB) BalanceHistory(ctx context.Context, team string, from, to, now time.Time) (api.BalanceHistory, error) {
	h := api.BalanceHistory{From: from, To: to}
	err := d.read(ctx, func(x tx) error {
		l, err := loadPool(ctx, x, team, now, unlocked)
		if err != nil {
			return err
		}
		if err := x.row(ctx, `SELECT COALESCE(SUM(tokens - debt), 0) FROM movements WHERE team = ? AND happened < ?`, team, ns(from)).Scan(&h.Opening); err != nil {
			return err
		}
		q, err := x.query(ctx, `SELECT happened / `+perDay+`, SUM(tokens - debt) FROM movements WHERE team = ? AND happened >= ? AND happened < ? GROUP BY happened / `+perDay+` ORDER BY 1`,
			team, ns(from), ns(to))
		if err != nil {
			return err
		}
		for q.Next() {
			var n, change int64
			if err := q.Scan(&n, &change); err != nil {
				q.Close()
				return err
			}
			h.Days = append(h.Days, api.DayChange{Day: day(time.Unix(0, n*dayNS)), Change: change})
		}
		if err := q.Close(); err != nil {
			return err
		}
		if h.Packs, err = packs(ctx, x, team, 0); err != nil {
			return err
		}
		for _, k := range l.ExpiringWithin(now, charge.Expiring) {
			h.Expiring = append(h.Expiring, api.Pack{Pack: k, Expires: k.Expires()})
		}
		return nil
	})
	return h, err
}

// RefusedCharges lists the charges of [from, to) the ledger did not take (duplicates,
// folded, refused), for the notices page: the partial index events_refused holds them
// alone.
func (d *DB) RefusedCharges(ctx context.Context, team string, from, to time.Time) ([]api.Refusal, error) {
	var out []api.Refusal
	err := d.read(ctx, func(x tx) error {
		out = []api.Refusal{} // a retried transaction starts over
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		return refused(ctx, x, team, from, to, func(r api.Refusal) error {
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
