package store

import (
	"context"
	"fmt"
	"time"
)

// opening is the team's balance (tokens less debt) from every movement that happened
// before at: the stored checkpoint of at's day or the last day before it with a
// movement (migration 141 keeps them), plus the movements since that midnight. It reads
// at most one day of movements, however long the team's history.
func opening(ctx context.Context, x tx, team string, at time.Time) (int64, error) {
	var day, balance int64
	err := x.row(ctx, `SELECT day, balance FROM balance_checkpoints WHERE team = ? AND day <= ? ORDER BY day DESC LIMIT 1`, team, ns(at)).Scan(&day, &balance)
	switch {
	case isNoRows(err):
		// No checkpoint at or before at: no movement happened before at, since the
		// first movement of a day writes that day's checkpoint.
		return 0, nil
	case err != nil:
		return 0, err
	}
	var since int64
	if err := x.row(ctx, OpeningQuery, team, day, ns(at)).Scan(&since); err != nil {
		return 0, err
	}
	return balance + since, nil
}

// BalanceAt is the team's balance (tokens less debt) from every movement that happened
// before at: the opening balance of a report that starts at at.
func (d *DB) BalanceAt(ctx context.Context, team string, at time.Time) (int64, error) {
	var b int64
	err := d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		var err error
		b, err = opening(ctx, x, team, at)
		return err
	})
	return b, err
}

// rebuild is migration 141's fill of the checkpoints from the movements: for every team
// and day with a movement, the sum of the team's movements before that day.
const rebuild = `INSERT INTO balance_checkpoints (team, day, balance) ` + sums

// sums is every checkpoint computed from the movements.
const sums = `SELECT team, day, SUM(net) OVER (PARTITION BY team ORDER BY day) - net
FROM (SELECT team, happened - happened % 86400000000000 AS day, SUM(tokens - debt) AS net
	FROM movements GROUP BY team, happened - happened % 86400000000000) d`

// RebuildCheckpoints recomputes every team's balance checkpoints from the movements, for
// after a bulk load that wrote movements with the checkpoint trigger disabled
// (PostgreSQL's COPY of many days at once). Every team is locked meanwhile.
func (d *DB) RebuildCheckpoints(ctx context.Context) error {
	return d.write(ctx, func(x tx) error {
		if d.dialect == Postgres {
			if _, err := x.exec(ctx, `SELECT id FROM teams ORDER BY id FOR UPDATE`); err != nil {
				return err
			}
		}
		if _, err := x.exec(ctx, `DELETE FROM balance_checkpoints`); err != nil {
			return err
		}
		_, err := x.exec(ctx, rebuild)
		return err
	})
}

// verifyCheckpoints adds to bad each checkpoint that differs from the movements, and
// each day with a movement but no checkpoint.
func verifyCheckpoints(ctx context.Context, x tx, bad []string) ([]string, error) {
	type key struct {
		team string
		day  int64
	}
	read := func(q string) (map[key]int64, error) {
		rows, err := x.query(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[key]int64{}
		for rows.Next() {
			var k key
			var b int64
			if err := rows.Scan(&k.team, &k.day, &b); err != nil {
				return nil, err
			}
			out[k] = b
		}
		return out, rows.Err()
	}
	want, err := read(sums)
	if err != nil {
		return bad, err
	}
	got, err := read(`SELECT team, day, balance FROM balance_checkpoints`)
	if err != nil {
		return bad, err
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			bad = append(bad, fmt.Sprintf("team %s balance before %s: checkpoint %d (kept: %v), movements %d", k.team, day(fromNS(k.day)), g, ok, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("team %s: a checkpoint (%d) for %s, a day without movements", k.team, g, day(fromNS(k.day))))
		}
	}
	return bad, nil
}
