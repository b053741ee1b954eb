package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// MaxRate bounds a product's daily rate: a typo guard, far above any real price.
const MaxRate = 1_000_000

// PutProduct adds a product to the catalogue or changes its name and rate. A new rate
// applies to windows opened after the change; windows paid keep their price.
func (d *DB) PutProduct(ctx context.Context, p api.Product, now time.Time) (api.Product, error) {
	if err := checkID("product", p.ID); err != nil {
		return api.Product{}, err
	}
	if p.Rate < 1 || p.Rate > MaxRate {
		return api.Product{}, errf(api.CodeBadRequest, "rate %d: want a daily rate from 1 to %d tokens", p.Rate, MaxRate)
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	if err := checkText("name", p.Name, MaxName, true); err != nil {
		return api.Product{}, err
	}
	err := d.write(ctx, func(x tx) error {
		_, err := x.exec(ctx, `INSERT INTO products (id, name, rate, added) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate = excluded.rate`, p.ID, p.Name, p.Rate, ns(now))
		if err != nil {
			return err
		}
		return recordRate(ctx, x, p.ID, p.Rate, now)
	})
	return p, err
}

// recordRate adds a product's rate from now to its history, unless it is the rate in
// force already. A ledger clock behind the last change records at that change, so the
// history never runs backwards.
func recordRate(ctx context.Context, x tx, product string, rate int64, now time.Time) error {
	var since, last int64
	err := x.row(ctx, `SELECT since, rate FROM product_rates WHERE product = ? ORDER BY since DESC LIMIT 1`, product).Scan(&since, &last)
	switch {
	case isNoRows(err):
	case err != nil:
		return err
	case last == rate:
		return nil
	}
	at := max(ns(now), since)
	_, err = x.exec(ctx, `INSERT INTO product_rates (product, since, rate) VALUES (?, ?, ?)
		ON CONFLICT (product, since) DO UPDATE SET rate = excluded.rate`, product, at, rate)
	return err
}

// rateAt is the product's rate in force at t: the last change at or before t, or, for a
// time before its history begins, the first rate it had.
func rateAt(ctx context.Context, x tx, product string, t time.Time) (int64, error) {
	var rate int64
	err := x.row(ctx, `SELECT rate FROM product_rates WHERE product = ? AND since <= ? ORDER BY since DESC LIMIT 1`, product, ns(t)).Scan(&rate)
	if isNoRows(err) {
		err = x.row(ctx, `SELECT rate FROM product_rates WHERE product = ? ORDER BY since LIMIT 1`, product).Scan(&rate)
	}
	return rate, err
}

// Products lists the catalogue.
func (d *DB) Products(ctx context.Context) ([]api.Product, error) {
	var out []api.Product
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT id, name, rate FROM products ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p api.Product
			if err := rows.Scan(&p.ID, &p.Name, &p.Rate); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

func rates(ctx context.Context, x tx) (map[string]int64, error) {
	rows, err := x.query(ctx, `SELECT id, rate FROM products`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var r int64
		if err := rows.Scan(&id, &r); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

func (d *DB) checkProducts(ctx context.Context, x tx, ps charge.Products) error {
	if len(ps) == 0 {
		return nil
	}
	known, err := rates(ctx, x)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, ok := known[p]; !ok && p != "*" {
			return errf(api.CodeBadRequest, "product %q is not in the catalogue; add it with 'tollgate ledger product add %s --rate N'", p, p)
		}
	}
	return nil
}

// PutUser puts a user in a team, assigned to its token pool or not, allowed the given
// products (empty: all). A user belongs to one team.
func (d *DB) PutUser(ctx context.Context, team, user string, u api.PutUser) (api.User, error) {
	if err := checkID("user", user); err != nil {
		return api.User{}, err
	}
	assigned := u.Assigned == nil || *u.Assigned
	err := d.write(ctx, func(x tx) error {
		if err := lockTeam(ctx, x, team); err != nil {
			return err
		}
		if err := d.checkProducts(ctx, x, u.Products); err != nil {
			return err
		}
		var in string
		err := x.row(ctx, `SELECT team FROM users WHERE id = ?`, user).Scan(&in)
		switch {
		case isNoRows(err):
			_, err = x.exec(ctx, `INSERT INTO users (id, team, assigned, products) VALUES (?, ?, ?, ?)`, user, team, assigned, encodeProducts(u.Products))
			return err
		case err != nil:
			return err
		case in != team:
			return &Error{Code: api.CodeConflict, Err: ErrOtherTeam,
				Message: fmt.Sprintf("user %q belongs to team %q; a user draws from one team's pool: move the user there first, or choose another id", user, in)}
		}
		_, err = x.exec(ctx, `UPDATE users SET assigned = ?, products = ? WHERE id = ?`, assigned, encodeProducts(u.Products), user)
		return err
	})
	if err != nil {
		return api.User{}, err
	}
	return d.User(ctx, team, user)
}

// User returns a user of team.
func (d *DB) User(ctx context.Context, team, user string) (api.User, error) {
	var out api.User
	err := d.read(ctx, func(x tx) error {
		var err error
		out, err = userOf(ctx, x, team, user)
		return err
	})
	return out, err
}

func notInTeam(team, user string) error {
	return errf(api.CodeNotFound, "user %q is not in team %q; assign the user with 'tollgate ledger user assign %s --team %s'", user, team, user, team)
}

// userOf reads a user of team with the user's subscriptions, in one query.
func userOf(ctx context.Context, x tx, team, user string) (api.User, error) {
	u := api.User{ID: user, Team: team, Subscriptions: []charge.Subscription{}}
	rows, err := x.query(ctx, `SELECT u.assigned, u.products, s.product, s.valid_from, s.valid_until
		FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
		WHERE u.id = ? AND u.team = ? ORDER BY s.valid_from, s.id`, user, team)
	if err != nil {
		return u, err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var products string
		var product sql.NullString
		var from, until sql.NullInt64
		if err := rows.Scan(&u.Assigned, &products, &product, &from, &until); err != nil {
			return u, err
		}
		if !found {
			found = true
			if err := json.Unmarshal([]byte(products), &u.Products); err != nil {
				return u, err
			}
		}
		if product.Valid {
			u.Subscriptions = append(u.Subscriptions, charge.Subscription{Product: product.String, From: fromNS(from.Int64), Until: fromNS(until.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return u, err
	}
	if !found {
		return u, notInTeam(team, user)
	}
	return u, nil
}

// Users lists a team's users, in two queries whatever their number: the console's
// users page and the advisor read every user of a team of hundreds.
func (d *DB) Users(ctx context.Context, team string) ([]api.User, error) {
	var out []api.User
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT id, assigned, products FROM users WHERE team = ? ORDER BY id`, team)
		if err != nil {
			return err
		}
		at := map[string]int{}
		for rows.Next() {
			u := api.User{Team: team, Subscriptions: []charge.Subscription{}}
			var products string
			if err := rows.Scan(&u.ID, &u.Assigned, &products); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(products), &u.Products); err != nil {
				rows.Close()
				return err
			}
			at[u.ID] = len(out)
			out = append(out, u)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = x.query(ctx, `SELECT s.user_id, s.product, s.valid_from, s.valid_until FROM subscriptions s JOIN users u ON u.id = s.user_id
			WHERE u.team = ? ORDER BY s.valid_from, s.id`, team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var user string
			var s charge.Subscription
			var from, until int64
			if err := rows.Scan(&user, &s.Product, &from, &until); err != nil {
				return err
			}
			s.From, s.Until = fromNS(from), fromNS(until)
			if i, ok := at[user]; ok {
				out[i].Subscriptions = append(out[i].Subscriptions, s)
			}
		}
		return rows.Err()
	})
	return out, err
}

// AddSubscription records a user's subscription to a product.
func (d *DB) AddSubscription(ctx context.Context, team, user string, s charge.Subscription) (api.User, error) {
	if s.From.IsZero() {
		return api.User{}, errf(api.CodeBadRequest, "a subscription needs a start (from), such as 2026-01-01T00:00:00Z")
	}
	if err := charge.CheckTime("from", s.From); err != nil {
		return api.User{}, errf(api.CodeBadRequest, "%v", err)
	}
	if !s.Until.IsZero() {
		if err := charge.CheckTime("until", s.Until); err != nil {
			return api.User{}, errf(api.CodeBadRequest, "%v", err)
		}
	}
	if !s.Until.IsZero() && !s.Until.After(s.From) {
		return api.User{}, errf(api.CodeBadRequest, "subscription ends (%s) before it starts (%s)", s.Until.Format(time.RFC3339), s.From.Format(time.RFC3339))
	}
	err := d.write(ctx, func(x tx) error {
		if err := d.checkProducts(ctx, x, charge.Products{s.Product}); err != nil {
			return err
		}
		if s.Product == "*" || s.Product == "" {
			return errf(api.CodeBadRequest, "a subscription is to one product; name it")
		}
		if _, err := userOf(ctx, x, team, user); err != nil {
			return err
		}
		_, err := x.exec(ctx, `INSERT INTO subscriptions (user_id, product, valid_from, valid_until) VALUES (?, ?, ?, ?)`,
			user, s.Product, ns(s.From), ns(s.Until))
		return err
	})
	if err != nil {
		return api.User{}, err
	}
	return d.User(ctx, team, user)
}
