package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Usage is the usage report of a team over [from, to): every session, charge and
// refused launch, per day (UTC), user, product and device.
func (d *DB) Usage(ctx context.Context, team string, from, to time.Time) ([]api.UsageRow, error) {
	type k struct{ day, user, product, device string }
	rows := map[k]*api.UsageRow{}
	err := d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		q, err := x.query(ctx, `SELECT e.kind, e.user_id, e.product, COALESCE(v.name, e.device), e.happened, e.tokens, e.use_ns, e.reason, e.status
			FROM events e LEFT JOIN devices v ON v.id = e.device
			WHERE e.team = ? AND e.happened >= ? AND e.happened < ? AND e.kind IN ('opened', 'denied', 'ended', 'charged')`,
			team, ns(from), ns(to))
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var kind, user, product, device, reason, status string
			var at, tokens, use int64
			if err := q.Scan(&kind, &user, &product, &device, &at, &tokens, &use, &reason, &status); err != nil {
				return err
			}
			key := k{day(fromNS(at)), user, product, device}
			r := rows[key]
			if r == nil {
				r = &api.UsageRow{Day: key.day, User: user, Product: product, Device: device}
				rows[key] = r
			}
			switch charge.Kind(kind) {
			case charge.Opened:
				r.Sessions++
				switch charge.Reason(reason) {
				case charge.Subscribed:
					r.Subscription++
				case charge.PaidWindow:
					r.PaidWindow++
				}
			case charge.Denied:
				r.Denied++
			case charge.Ended:
				r.UseSeconds += int64(time.Duration(use) / time.Second)
			case charge.Charged:
				if status == api.Accepted {
					r.Charges++
					r.Tokens += tokens
				} else {
					r.Duplicates++
				}
			}
		}
		return q.Err()
	})
	out := make([]api.UsageRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b api.UsageRow) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.User, b.User), cmp.Compare(a.Product, b.Product), cmp.Compare(a.Device, b.Device))
	})
	return out, err
}

// lockFree checks that a team exists, without locking it.
func lockFree(ctx context.Context, x tx, team string) error {
	var id string
	err := x.row(ctx, `SELECT id FROM teams WHERE id = ?`, team).Scan(&id)
	if isNoRows(err) {
		return errf(api.CodeNotFound, "team %q does not exist", team)
	}
	return err
}

// Tokens is the token usage report of a team over [from, to), with its packs and
// balance at now, read in one transaction. Its sections are also streamed one at a
// time, in pages: TokenDaily, TokenHistory, TokenRefused, TokenPacks.
func (d *DB) Tokens(ctx context.Context, team string, from, to, now time.Time) (api.TokenReport, error) {
	rep := api.TokenReport{Team: team, From: from, To: to}
	err := d.read(ctx, func(x tx) error {
		rep.Daily, rep.History, rep.Refused, rep.Idle = []api.TokenDay{}, []api.Movement{}, []api.Refusal{}, []api.IdleDay{}
		l, err := loadPool(ctx, x, team, now, unlocked)
		if err != nil {
			return err
		}
		rep.Balance = teamOf(l).Balance
		if _, err := daily(ctx, x, team, from, to, Page{}, func(r api.TokenDay) error {
			rep.Daily = append(rep.Daily, r)
			return nil
		}); err != nil {
			return err
		}
		if _, err := history(ctx, x, team, from, to, Page{}, func(m api.Movement) error {
			rep.History = append(rep.History, m)
			return nil
		}); err != nil {
			return err
		}
		if rep.Packs, rep.Expiring, err = packsOf(ctx, x, l, now); err != nil {
			return err
		}
		if rep.Idle, err = idleDays(ctx, x, team, from, to); err != nil {
			return err
		}
		return refused(ctx, x, team, from, to, func(r api.Refusal) error {
			rep.Refused = append(rep.Refused, r)
			return nil
		})
	})
	return rep, err
}

// Verify recomputes every pack's tokens, every team's debt and every balance checkpoint
// from the movements and compares them with the stored figures.
func (d *DB) Verify(ctx context.Context) error {
	return d.read(ctx, func(x tx) error {
		var bad []string
		q, err := x.query(ctx, `SELECT p.id, p.left_tokens, COALESCE(SUM(m.tokens), 0) FROM packs p LEFT JOIN movements m ON m.pack = p.id GROUP BY p.id, p.left_tokens`)
		if err != nil {
			return err
		}
		for q.Next() {
			var id string
			var left, sum int64
			if err := q.Scan(&id, &left, &sum); err != nil {
				q.Close()
				return err
			}
			if left != sum {
				bad = append(bad, fmt.Sprintf("pack %s: stored %d, movements %d", id, left, sum))
			}
		}
		if err := q.Close(); err != nil {
			return err
		}
		q, err = x.query(ctx, `SELECT t.id, t.debt, COALESCE((SELECT SUM(m.debt) FROM movements m WHERE m.team = t.id), 0) FROM teams t`)
		if err != nil {
			return err
		}
		defer q.Close()
		for q.Next() {
			var id string
			var debt, sum int64
			if err := q.Scan(&id, &debt, &sum); err != nil {
				return err
			}
			if debt != sum {
				bad = append(bad, fmt.Sprintf("team %s debt: stored %d, movements %d", id, debt, sum))
			}
		}
		if err := q.Err(); err != nil {
			return err
		}
		q.Close()
		if bad, err = verifyCheckpoints(ctx, x, bad); err != nil {
			return err
		}
		if bad, err = verifyLatest(ctx, x, bad); err != nil {
			return err
		}
		if len(bad) > 0 {
			return fmt.Errorf("what is stored differs from the ledger's history: %v", bad)
		}
		return nil
	})
}

// latestOfCharges is latest_windows as the charges say it should be: each user's latest
// window of each product.
const latestOfCharges = `SELECT c.team, c.user_id, c.product, c.start, c.tokens, c.device FROM charges c
	WHERE c.start = (SELECT MAX(m.start) FROM charges m WHERE m.team = c.team AND m.user_id = c.user_id AND m.product = c.product)`

// verifyLatest checks latest_windows, which launches read their windows from, against
// the charges.
func verifyLatest(ctx context.Context, x tx, bad []string) ([]string, error) {
	const kept = `SELECT team, user_id, product, start, tokens, device FROM latest_windows`
	for _, q := range []struct{ what, sql string }{
		{"kept but not the latest charge", `SELECT COUNT(*) FROM (` + kept + ` EXCEPT ` + latestOfCharges + `) d`},
		{"latest charge not kept", `SELECT COUNT(*) FROM (` + latestOfCharges + ` EXCEPT ` + kept + `) d`},
	} {
		var n int64
		if err := x.row(ctx, q.sql).Scan(&n); err != nil {
			return bad, fmt.Errorf("latest windows: %w", err)
		}
		if n > 0 {
			bad = append(bad, fmt.Sprintf("latest windows: %d %s", n, q.what))
		}
	}
	return bad, nil
}

// Idle is the idle section of the token report alone, for the console's usage page.
func (d *DB) Idle(ctx context.Context, team string, from, to time.Time) ([]api.IdleDay, error) {
	var out []api.IdleDay
	err := d.read(ctx, func(x tx) error {
		var err error
		out, err = idleDays(ctx, x, team, from, to)
		return err
	})
	return out, err
}

// idleDays is the idle section of the token report: renewals charged on idle products and
// renewals saved by closing them, by the day their window starts.
func idleDays(ctx context.Context, x tx, team string, from, to time.Time) ([]api.IdleDay, error) {
	type k struct{ day, user, product string }
	days := map[k]*api.IdleDay{}
	row := func(user, product string, start int64) *api.IdleDay {
		key := k{day(fromNS(start)), user, product}
		r := days[key]
		if r == nil {
			r = &api.IdleDay{Day: key.day, Team: team, User: user, Product: product}
			days[key] = r
		}
		return r
	}
	for _, src := range []struct {
		sql   string
		saved bool
	}{
		{`SELECT user_id, product, start, tokens FROM charges WHERE team = ? AND idle <> '' AND start >= ? AND start < ?`, false},
		{`SELECT user_id, product, start, tokens FROM idle_saved WHERE team = ? AND start >= ? AND start < ?`, true},
	} {
		q, err := x.query(ctx, src.sql, team, ns(from), ns(to))
		if err != nil {
			return nil, err
		}
		for q.Next() {
			var user, product string
			var start, tokens int64
			if err := q.Scan(&user, &product, &start, &tokens); err != nil {
				q.Close()
				return nil, err
			}
			r := row(user, product, start)
			if src.saved {
				r.IdleCloses++
				r.SavedTokens += tokens
			} else {
				r.IdleRenewals++
				r.IdleTokens += tokens
			}
		}
		if err := q.Close(); err != nil {
			return nil, err
		}
	}
	out := make([]api.IdleDay, 0, len(days))
	for _, r := range days {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b api.IdleDay) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.User, b.User), cmp.Compare(a.Product, b.Product))
	})
	return out, nil
}
