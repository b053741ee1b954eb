package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"tollgate/ledger/api"
)

// The usage page's sums over a span's events, as the usage report counts them: a session
// is an opened event, a charge an accepted charged event, a day charged a UTC day with one.
const (
	usageSessions = `SUM(CASE WHEN e.kind = 'opened' THEN 1 ELSE 0 END)`
	usageCharged  = `e.kind = 'charged' AND e.status = 'accepted'`
	usageCharges  = `SUM(CASE WHEN ` + usageCharged + ` THEN 1 ELSE 0 END)`
	usageTokens   = `SUM(CASE WHEN ` + usageCharged + ` THEN e.tokens ELSE 0 END)`
	usageDays     = `COUNT(DISTINCT CASE WHEN ` + usageCharged + ` THEN e.happened / ` + perDay + ` END)`
	// usageSpan is the usage report's rows of [from, to): a range of migration 171's
	// events_usage by its day (the first two bounds), which holds every column these
	// queries read, then the exact times (the last two), from the same index.
	usageSpan = `e.team = ? AND e.happened / ` + perDay + ` >= ? AND e.happened / ` + perDay + ` <= ?
		AND e.happened >= ? AND e.happened < ? AND e.kind IN ('opened', 'denied', 'ended', 'charged')`
)

// spanArgs are usageSpan's arguments.
func spanArgs(team string, from, to time.Time) []any {
	return []any{team, ns(from) / dayNS, (ns(to) - 1) / dayNS, ns(from), ns(to)}
}

// UsageTotals is the usage page's figures for [from, to): the usage report's rows that
// match f, summed per day and product, per user, per product, per tag and in total, by
// the database, so that a year's page reads a line per day and product and one per user,
// not one per user, product, device and day as its CSV does. Each sum is one grouped
// scan of the span's index range; per product and the total are sums of the lines per
// day and product, which hold each (day, product) once.
func (d *DB) UsageTotals(ctx context.Context, team string, from, to time.Time, f api.UsageFilter) (api.UsageTotals, error) {
	var t api.UsageTotals
	span := spanArgs(team, from, to)
	where, args := usageSpan, slices.Clone(span)
	if f.User != "" {
		where, args = where+` AND e.user_id = ?`, append(args, f.User)
	}
	if f.Product != "" {
		where, args = where+` AND e.product = ?`, append(args, f.Product)
	}
	if f.Device != "" {
		// A device by the name the usage report shows: the devices of that name, or the
		// name itself when it is the id of no device (a device the ledger has no row for).
		where += ` AND e.device IN (SELECT id FROM devices WHERE name = ?
			UNION SELECT CAST(? AS TEXT) WHERE NOT EXISTS (SELECT 1 FROM devices WHERE id = ?))`
		args = append(args, f.Device, f.Device, f.Device)
	}
	err := d.read(ctx, func(x tx) error {
		t = api.UsageTotals{}
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		if d.dialect == Postgres {
			// A year's rows sort in memory rather than in temporary files (4 MB by
			// default): about 10 ms instead of 60 for 40,000 events.
			if _, err := x.exec(ctx, `SET LOCAL work_mem = '32MB'`); err != nil {
				return err
			}
		}
		per := map[string]*api.UsageSum{}
		days := map[int64]bool{}
		err := each(ctx, x, `SELECT e.happened / `+perDay+`, e.product, `+usageSessions+`, `+usageCharges+`, `+usageTokens+`
			FROM events e WHERE `+where+` GROUP BY e.happened / `+perDay+`, e.product`, args, func(q *sql.Rows) error {
			var n, charges int64
			var u api.UsageDay
			var sessions int64
			if err := q.Scan(&n, &u.Product, &sessions, &charges, &u.Tokens); err != nil {
				return err
			}
			u.Day = day(time.Unix(0, n*dayNS))
			t.Days = append(t.Days, u)
			p := per[u.Product]
			if p == nil {
				p = &api.UsageSum{Name: u.Product}
				per[u.Product] = p
			}
			p.Sessions += sessions
			p.Tokens += u.Tokens
			t.Total.Sessions += sessions
			t.Total.Tokens += u.Tokens
			if charges > 0 {
				p.Days++
				days[n] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range per {
			t.PerProduct = append(t.PerProduct, *p)
		}
		t.Total.Name, t.Total.Days = "Total", int64(len(days))
		sums := func(into *[]api.UsageSum) func(q *sql.Rows) error {
			return func(q *sql.Rows) error {
				var s api.UsageSum
				if err := q.Scan(&s.Name, &s.Sessions, &s.Days, &s.Tokens); err != nil {
					return err
				}
				*into = append(*into, s)
				return nil
			}
		}
		if err := each(ctx, x, `SELECT e.user_id, `+usageSessions+`, `+usageDays+`, `+usageTokens+`
			FROM events e WHERE `+where+` GROUP BY e.user_id`, args, sums(&t.PerUser)); err != nil {
			return err
		}
		var tagged bool
		if err := x.row(ctx, `SELECT EXISTS (SELECT 1 FROM user_tags WHERE team = ?)`, team).Scan(&tagged); err != nil {
			return err
		}
		if tagged {
			if err := each(ctx, x, `SELECT g.tag, `+usageSessions+`, `+usageDays+`, `+usageTokens+`
				FROM events e JOIN user_tags g ON g.team = e.team AND g.user_id = e.user_id
				WHERE `+where+` GROUP BY g.tag`, args, sums(&t.PerTag)); err != nil {
				return err
			}
		}
		// The filter's choices: what the span holds, whatever the filter. Without a
		// filter, the users and products are those of the sums.
		if f == (api.UsageFilter{}) {
			for _, u := range t.PerUser {
				t.Users = append(t.Users, u.Name)
			}
			for _, p := range t.PerProduct {
				t.Products = append(t.Products, p.Name)
			}
			return each(ctx, x, `SELECT COALESCE(v.name, w.device)
				FROM (SELECT DISTINCT e.device FROM events e WHERE `+usageSpan+`) w
				LEFT JOIN devices v ON v.id = w.device`, span, func(q *sql.Rows) error {
				var dev string
				err := q.Scan(&dev)
				t.Devices = append(t.Devices, dev)
				return err
			})
		}
		return each(ctx, x, `SELECT w.user_id, w.product, COALESCE(v.name, w.device)
			FROM (SELECT DISTINCT e.user_id, e.product, e.device FROM events e WHERE `+usageSpan+`) w
			LEFT JOIN devices v ON v.id = w.device`, span, func(q *sql.Rows) error {
			var u, p, dev string
			if err := q.Scan(&u, &p, &dev); err != nil {
				return err
			}
			t.Users, t.Products, t.Devices = append(t.Users, u), append(t.Products, p), append(t.Devices, dev)
			return nil
		})
	})
	// The order is Go's, not the database's collation, as the usage report sorts.
	slices.SortFunc(t.Days, func(a, b api.UsageDay) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Product, b.Product))
	})
	byName := func(a, b api.UsageSum) int { return cmp.Compare(a.Name, b.Name) }
	slices.SortFunc(t.PerUser, byName)
	slices.SortFunc(t.PerProduct, byName)
	slices.SortFunc(t.PerTag, byName)
	for _, l := range []*[]string{&t.Users, &t.Products, &t.Devices} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return t, err
}

// each runs a query and calls fn on each of its rows.
func each(ctx context.Context, x tx, query string, args []any, fn func(*sql.Rows) error) error {
	q, err := x.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer q.Close()
	for q.Next() {
		if err := fn(q); err != nil {
			return err
		}
	}
	return q.Err()
}
