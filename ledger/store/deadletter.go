package store

import (
	"context"
	"encoding/json"
	"time"

	"tollgate/ledger/api"
)

// Refusal is an event the ledger refused, with the skew of the batch it came in.
type Refusal struct {
	Event   api.Event
	Skew    time.Duration
	Code    string
	Message string
}

// DeadLetter keeps refused events of a device: a new one is added, one refused again is
// updated (its reason, count and time) and opened again if it had been resolved.
func (d *DB) DeadLetter(ctx context.Context, team, device string, refused []Refusal, now time.Time) error {
	if len(refused) == 0 {
		return nil
	}
	return d.write(ctx, func(x tx) error {
		for _, r := range refused {
			e := r.Event
			body, err := json.Marshal(e)
			if err != nil {
				return err
			}
			_, err = x.exec(ctx, `INSERT INTO dead_letters (device, id, team, kind, user_id, product, happened, tokens, event, skew_ns, code, message, first_refused, last_refused, attempts)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
				ON CONFLICT (device, id) DO UPDATE SET event = excluded.event, skew_ns = CASE WHEN excluded.skew_ns <> 0 THEN excluded.skew_ns ELSE dead_letters.skew_ns END, code = excluded.code,
					message = excluded.message, last_refused = excluded.last_refused, attempts = dead_letters.attempts + 1, resolved = 0, resolution = ''`,
				device, e.ID, team, string(e.Kind), e.User, e.Product, ns(e.At), e.Tokens, string(body), int64(r.Skew), r.Code, r.Message, ns(now), ns(now))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ResolveDeadLetter closes a dead letter: a re-send was answered with status.
func (d *DB) ResolveDeadLetter(ctx context.Context, device, id, status string, now time.Time) error {
	return d.write(ctx, func(x tx) error {
		_, err := x.exec(ctx, `UPDATE dead_letters SET resolved = ?, resolution = ? WHERE device = ? AND id = ?`, ns(now), status, device, id)
		return err
	})
}

// DeadLetters lists a team's dead letters, the oldest first: the open ones, or all.
func (d *DB) DeadLetters(ctx context.Context, team string, all bool) ([]api.DeadLetter, error) {
	out := []api.DeadLetter{}
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT device, id, team, kind, user_id, product, happened, tokens, skew_ns, code, message, first_refused, last_refused, attempts, resolved, resolution
			FROM dead_letters WHERE team = ? AND (? OR resolved = 0) ORDER BY first_refused, device, id`, team, all)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l api.DeadLetter
			var at, skew, first, last, resolved int64
			if err := rows.Scan(&l.Device, &l.ID, &l.Team, &l.Kind, &l.User, &l.Product, &at, &l.Tokens, &skew, &l.Code, &l.Message,
				&first, &last, &l.Attempts, &resolved, &l.Resolution); err != nil {
				return err
			}
			l.At, l.Skew, l.FirstRefused, l.LastRefused, l.Resolved = fromNS(at), time.Duration(skew), fromNS(first), fromNS(last), fromNS(resolved)
			out = append(out, l)
		}
		return rows.Err()
	})
	return out, err
}

// DeadEvent is an open dead letter's event as it was last tried.
type DeadEvent struct {
	Device   string
	Event    api.Event
	Attempts int64 // refusals so far
}

// DeadEvents returns a team's open dead letters (only id's when id is not empty), the
// oldest first.
func (d *DB) DeadEvents(ctx context.Context, team, id string) ([]DeadEvent, error) {
	var out []DeadEvent
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT device, event, attempts FROM dead_letters WHERE team = ? AND resolved = 0 AND (? = '' OR id = ?) ORDER BY first_refused, device, id`, team, id, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v DeadEvent
			var body string
			if err := rows.Scan(&v.Device, &body, &v.Attempts); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &v.Event); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// OpenDeadLetters counts the dead letters of every team not yet resolved.
func (d *DB) OpenDeadLetters(ctx context.Context) (int64, error) {
	var n int64
	err := d.read(ctx, func(x tx) error {
		return x.row(ctx, `SELECT COUNT(*) FROM dead_letters WHERE resolved = 0`).Scan(&n)
	})
	return n, err
}
