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
