package store

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"tollgate/ledger/api"
)

// validCurrency is an ISO 4217 code such as EUR, or a short symbol-free name.
var validCurrency = regexp.MustCompile(`^[A-Z]{3}$`)

// validTag is what a cost centre or project tag may look like.
var validTag = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+:/-]{0,63}$`)

// maxMilli bounds a price at a million a token or a month: a typo guard.
const maxMilli = 1_000_000_000

// Prices returns a team's token and subscription prices.
func (d *DB) Prices(ctx context.Context, team string) (api.Prices, error) {
	p := api.Prices{Subscriptions: map[string]int64{}}
	err := d.read(ctx, func(x tx) error {
		if err := lockFree(ctx, x, team); err != nil {
			return err
		}
		err := x.row(ctx, `SELECT currency, token_milli FROM team_prices WHERE team = ?`, team).Scan(&p.Currency, &p.TokenMilli)
		if err != nil && !isNoRows(err) {
			return err
		}
		rows, err := x.query(ctx, `SELECT product, month_milli FROM subscription_prices WHERE team = ?`, team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var product string
			var m int64
			if err := rows.Scan(&product, &m); err != nil {
				return err
			}
			p.Subscriptions[product] = m
		}
		return rows.Err()
	})
	return p, err
}

// SetPrices changes a team's prices: a zero amount removes one.
func (d *DB) SetPrices(ctx context.Context, team string, s api.SetPrices) (api.Prices, error) {
	if s.Currency != nil && !validCurrency.MatchString(*s.Currency) {
		return api.Prices{}, errf(api.CodeBadRequest, "currency %q: give a three-letter ISO 4217 code such as EUR or USD", *s.Currency)
	}
	check := func(what string, m int64) error {
		if m < 0 || m > maxMilli {
			return errf(api.CodeBadRequest, "%s: give an amount from 0 (none) to 1000000", what)
		}
		return nil
	}
	if s.TokenMilli != nil {
		if err := check("token price", *s.TokenMilli); err != nil {
			return api.Prices{}, err
		}
	}
	for p, m := range s.Subscriptions {
		if err := check("subscription price of "+p, m); err != nil {
			return api.Prices{}, err
		}
	}
	err := d.write(ctx, func(x tx) error {
		if err := lockTeam(ctx, x, team); err != nil {
			return err
		}
		var cur string
		var milli int64
		err := x.row(ctx, `SELECT currency, token_milli FROM team_prices WHERE team = ?`, team).Scan(&cur, &milli)
		had := err == nil
		if err != nil && !isNoRows(err) {
			return err
		}
		if s.Currency != nil {
			cur = *s.Currency
		}
		if s.TokenMilli != nil {
			milli = *s.TokenMilli
		}
		priced := milli > 0
		for _, m := range s.Subscriptions {
			priced = priced || m > 0
		}
		if priced && cur == "" {
			return errf(api.CodeBadRequest, "give the currency with the first price")
		}
		if had {
			if _, err := x.exec(ctx, `DELETE FROM team_prices WHERE team = ?`, team); err != nil {
				return err
			}
		}
		if cur != "" {
			if _, err := x.exec(ctx, `INSERT INTO team_prices (team, currency, token_milli) VALUES (?, ?, ?)`, team, cur, milli); err != nil {
				return err
			}
		}
		known, err := rates(ctx, x)
		if err != nil {
			return err
		}
		for p, m := range s.Subscriptions {
			if _, ok := known[p]; !ok {
				return errf(api.CodeNotFound, "product %q is not in the catalogue", p)
			}
			if _, err := x.exec(ctx, `DELETE FROM subscription_prices WHERE team = ? AND product = ?`, team, p); err != nil {
				return err
			}
			if m > 0 {
				if _, err := x.exec(ctx, `INSERT INTO subscription_prices (team, product, month_milli) VALUES (?, ?, ?)`, team, p, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return api.Prices{}, err
	}
	return d.Prices(ctx, team)
}

// Tags returns the cost centre and project tags of a team's users.
func (d *DB) Tags(ctx context.Context, team string) (map[string][]string, error) {
	out := map[string][]string{}
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT user_id, tag FROM user_tags WHERE team = ? ORDER BY user_id, tag`, team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u, t string
			if err := rows.Scan(&u, &t); err != nil {
				return err
			}
			out[u] = append(out[u], t)
		}
		return rows.Err()
	})
	return out, err
}

// SetTags replaces a user's tags.
func (d *DB) SetTags(ctx context.Context, team, user string, tags []string) ([]string, error) {
	var clean []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !validTag.MatchString(t) {
			return nil, errf(api.CodeBadRequest, "tag %q: use letters, digits and . _ @ + : / - (at most 64, no spaces)", t)
		}
		if !slices.Contains(clean, t) {
			clean = append(clean, t)
		}
	}
	if len(clean) > 16 {
		return nil, errf(api.CodeBadRequest, "%d tags: give at most 16", len(clean))
	}
	slices.Sort(clean)
	err := d.write(ctx, func(x tx) error {
		if _, err := userOf(ctx, x, team, user); err != nil {
			return err
		}
		if _, err := x.exec(ctx, `DELETE FROM user_tags WHERE team = ? AND user_id = ?`, team, user); err != nil {
			return err
		}
		for _, t := range clean {
			if _, err := x.exec(ctx, `INSERT INTO user_tags (team, user_id, tag) VALUES (?, ?, ?)`, team, user, t); err != nil {
				return err
			}
		}
		return nil
	})
	return clean, err
}

// FirstUse returns when each user of a team first opened each product, as the ledger
// heard it, grouped over the team's whole history: the tests' oracle for UseSummaries,
// which reads each first use from the row ingest keeps of it (first_use).
func (d *DB) FirstUse(ctx context.Context, team string) (map[api.UseKey]time.Time, error) {
	out := map[api.UseKey]time.Time{}
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT user_id, product, MIN(happened) FROM events WHERE team = ? AND kind IN ('opened', 'charged') GROUP BY user_id, product`, team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k api.UseKey
			var at int64
			if err := rows.Scan(&k.User, &k.Product, &at); err != nil {
				return err
			}
			out[k] = fromNS(at)
		}
		return rows.Err()
	})
	return out, err
}
