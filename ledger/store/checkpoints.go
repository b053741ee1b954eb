package store

import (
	"context"
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
const rebuild = `INSERT INTO balance_checkpoints (team, day, balance)
SELECT team, day, SUM(net) OVER (PARTITION BY team ORDER BY day) - net
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
