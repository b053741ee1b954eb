package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// The report queries, each read through an index of migration 141 in the order it is
// shown, so that a report reads what it shows and a page what it holds.
const (
	// DailyQuery sums a team's charges per UTC day of their window's start, user and
	// product; the groups are sorted, never the charges.
	DailyQuery = `SELECT start - start % 86400000000000 AS d, user_id, product, COUNT(*), SUM(tokens)
		FROM charges WHERE team = ? AND start >= ? AND start < ?
		GROUP BY start - start % 86400000000000, user_id, product`
	// HistoryQuery is a team's movements in time order.
	HistoryQuery = `SELECT id, happened, pack, kind, tokens, debt, ref FROM movements
		WHERE team = ? AND happened >= ? AND happened < ?`
	// OpeningQuery sums the movements since the last checkpoint.
	OpeningQuery = `SELECT COALESCE(SUM(tokens - debt), 0) FROM movements WHERE team = ? AND happened >= ? AND happened < ?`
)

// Page bounds one read of a report section: the rows after the cursor a previous page
// ended with ("" for the first), at most Limit of them (0: every one).
type Page struct {
	Cursor string
	Limit  int
}

// cursor is where a page ended: the day, user and product of a daily row, or the time
// and id of a movement. It is opaque to clients.
type cursor struct {
	Day     int64  `json:"d,omitempty"`
	User    string `json:"u,omitempty"`
	Product string `json:"p,omitempty"`
	At      int64  `json:"t,omitempty"`
	ID      int64  `json:"i,omitempty"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, errf(api.CodeBadRequest, "cursor %q is not one this report gave; ask again without a cursor for the first page", s)
	}
	return c, nil
}

// TokenDaily streams the daily section of a team's token report over [from, to) to fn in
// (day, user, product) order, and returns the cursor of the next page ("" when the
// section ends).
func (d *DB) TokenDaily(ctx context.Context, team string, from, to time.Time, p Page, fn func(api.TokenDay) error) (next string, err error) {
	err = d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		next, err = daily(ctx, x, team, from, to, p, fn)
		return err
	})
	return next, err
}

// daily reads the groups one UTC day at a time, each day's charges through the index,
// and skips the days without charges with one index probe: a page costs its own days,
// and memory holds one day's groups, however long the span.
func daily(ctx context.Context, x tx, team string, from, to time.Time, p Page, fn func(api.TokenDay) error) (string, error) {
	c, err := parseCursor(p.Cursor)
	if err != nil {
		return "", err
	}
	lo, hi := ns(from), ns(to)
	if p.Cursor != "" {
		lo = max(lo, c.Day)
	}
	n := 0
	var last cursor
	for lo < hi {
		// The first charge at or after lo names the next day with any.
		var first sql.NullInt64
		if err := x.row(ctx, `SELECT MIN(start) FROM charges WHERE team = ? AND start >= ? AND start < ?`, team, lo, hi).Scan(&first); err != nil {
			return "", err
		}
		if !first.Valid {
			break
		}
		d := first.Int64 - first.Int64%int64(charge.Day)
		end := min(d+int64(charge.Day), hi)
		q, args := `SELECT * FROM (`+DailyQuery+`) g`, []any{team, first.Int64, end}
		if p.Cursor != "" && d == c.Day {
			q += ` WHERE g.user_id > ? OR (g.user_id = ? AND g.product > ?)`
			args = append(args, c.User, c.User, c.Product)
		}
		q += ` ORDER BY 2, 3`
		if p.Limit > 0 {
			q += ` LIMIT ?`
			args = append(args, p.Limit-n+1)
		}
		more, err := func() (bool, error) {
			rows, err := x.query(ctx, q, args...)
			if err != nil {
				return false, err
			}
			defer rows.Close()
			for rows.Next() {
				var r api.TokenDay
				var dayNS int64
				if err := rows.Scan(&dayNS, &r.User, &r.Product, &r.Charges, &r.Tokens); err != nil {
					return false, err
				}
				if p.Limit > 0 && n == p.Limit {
					return true, nil
				}
				n++
				r.Day, r.Team = day(fromNS(dayNS)), team
				if err := fn(r); err != nil {
					return false, err
				}
				last = cursor{Day: dayNS, User: r.User, Product: r.Product}
			}
			return false, rows.Err()
		}()
		if err != nil {
			return "", err
		}
		if more {
			return last.String(), nil
		}
		lo = end
	}
	return "", nil
}

// TokenHistory streams the movements of a team over [from, to) to fn in the order they
// happened, each with the team's balance after it, and returns the cursor of the next
// page ("" when the section ends). A page reads its own rows and at most a day of
// movements before it, however long the team's history.
func (d *DB) TokenHistory(ctx context.Context, team string, from, to time.Time, p Page, fn func(api.Movement) error) (next string, err error) {
	err = d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		next, err = history(ctx, x, team, from, to, p, fn)
		return err
	})
	return next, err
}

func history(ctx context.Context, x tx, team string, from, to time.Time, p Page, fn func(api.Movement) error) (string, error) {
	c, err := parseCursor(p.Cursor)
	if err != nil {
		return "", err
	}
	q, args := HistoryQuery, []any{team, ns(from), ns(to)}
	var balance int64
	if p.Cursor == "" {
		if balance, err = opening(ctx, x, team, from); err != nil {
			return "", err
		}
	} else {
		// The balance after the cursor's movement: everything before its time, and
		// those at its very time up to it.
		if balance, err = opening(ctx, x, team, fromNS(c.At)); err != nil {
			return "", err
		}
		var same int64
		if err := x.row(ctx, `SELECT COALESCE(SUM(tokens - debt), 0) FROM movements WHERE team = ? AND happened = ? AND id <= ?`, team, c.At, c.ID).Scan(&same); err != nil {
			return "", err
		}
		balance += same
		args[1] = max(ns(from), c.At)
		q += ` AND (happened > ? OR (happened = ? AND id > ?))`
		args = append(args, c.At, c.At, c.ID)
	}
	q += ` ORDER BY happened, id`
	if p.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, p.Limit+1)
	}
	rows, err := x.query(ctx, q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	n := 0
	var last cursor
	for rows.Next() {
		m := api.Movement{Team: team}
		var at int64
		if err := rows.Scan(&m.ID, &at, &m.Pack, &m.Kind, &m.Tokens, &m.Debt, &m.Ref); err != nil {
			return "", err
		}
		if p.Limit > 0 && n == p.Limit {
			return last.String(), rows.Err()
		}
		n++
		balance += m.Tokens - m.Debt
		m.At, m.Balance = fromNS(at), balance
		if err := fn(m); err != nil {
			return "", err
		}
		last = cursor{At: at, ID: m.ID}
	}
	return "", rows.Err()
}

// TokenRefused streams the charges of a team not debited over [from, to) to fn, in the
// order they arrived.
func (d *DB) TokenRefused(ctx context.Context, team string, from, to time.Time, fn func(api.Refusal) error) error {
	return d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		return refused(ctx, x, team, from, to, fn)
	})
}

func refused(ctx context.Context, x tx, team string, from, to time.Time, fn func(api.Refusal) error) error {
	q, err := x.query(ctx, `SELECT e.happened, COALESCE(v.name, e.device), e.id, e.user_id, e.product, e.key_start, e.tokens, e.status, e.message
		FROM events e LEFT JOIN devices v ON v.id = e.device
		WHERE e.team = ? AND e.kind = 'charged' AND e.status <> 'accepted' AND e.happened >= ? AND e.happened < ? ORDER BY e.happened, e.id`,
		team, ns(from), ns(to))
	if err != nil {
		return err
	}
	defer q.Close()
	for q.Next() {
		var r api.Refusal
		var at, start int64
		if err := q.Scan(&at, &r.Device, &r.Event, &r.User, &r.Product, &start, &r.Tokens, &r.Status, &r.Message); err != nil {
			return err
		}
		r.At, r.Start = fromNS(at), fromNS(start)
		if err := fn(r); err != nil {
			return err
		}
	}
	return q.Err()
}

// TokenPacks is the packs section of a team's token report: every pack, and the live
// ones expiring within charge.Expiring of now.
func (d *DB) TokenPacks(ctx context.Context, team string, now time.Time) (all, expiring []api.Pack, err error) {
	err = d.read(ctx, func(x tx) error {
		l, err := loadPool(ctx, x, team, now, unlocked)
		if err != nil {
			return err
		}
		all, expiring, err = packsOf(ctx, x, l, now)
		return err
	})
	return all, expiring, err
}

func packsOf(ctx context.Context, x tx, l loaded, now time.Time) (all, expiring []api.Pack, err error) {
	if all, err = packs(ctx, x, l.Team, 0); err != nil {
		return nil, nil, err
	}
	for _, k := range l.ExpiringWithin(now, charge.Expiring) {
		expiring = append(expiring, api.Pack{Pack: k, Expires: k.Expires()})
	}
	return all, expiring, nil
}
