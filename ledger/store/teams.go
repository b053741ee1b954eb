package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// validID is what ids of teams, users, products and devices may look like: printable,
// no spaces or slashes (they appear in URLs and charge keys), at most 128 bytes.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

func checkID(what, id string) error {
	if !validID.MatchString(id) {
		return errf(api.CodeBadRequest, "%s %q: use letters, digits and . _ @ + - (at most 128, no spaces or slashes)", what, id)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func randomID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func encodeProducts(p charge.Products) string {
	if slices.Contains(p, "*") || len(p) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// CreateTeam adds a team.
func (d *DB) CreateTeam(ctx context.Context, t api.NewTeam, now time.Time) (api.Team, error) {
	if err := checkID("team", t.ID); err != nil {
		return api.Team{}, err
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	if err := checkText("name", t.Name, MaxName, true); err != nil {
		return api.Team{}, err
	}
	err := d.write(ctx, func(x tx) error {
		_, err := x.exec(ctx, `INSERT INTO teams (id, name, created) VALUES (?, ?, ?)`, t.ID, t.Name, ns(now))
		if unique(err) {
			return errf(api.CodeConflict, "team %q exists already", t.ID)
		}
		return err
	})
	if err != nil {
		return api.Team{}, err
	}
	return d.Team(ctx, t.ID, now)
}

// Team returns a team with its balance at now.
func (d *DB) Team(ctx context.Context, id string, now time.Time) (api.Team, error) {
	var out api.Team
	err := d.read(ctx, func(x tx) error {
		l, err := loadPool(ctx, x, id, now, unlocked)
		if err != nil {
			return err
		}
		out = teamOf(l)
		return nil
	})
	return out, err
}

func teamOf(l loaded) api.Team {
	// What a reader sees is what the next writer will find: stale holds count for nothing.
	l.releaseStale()
	return api.Team{
		ID: l.Team, Name: l.name, Products: l.products, Threshold: l.Threshold,
		Webhook: l.webhook, Balance: l.balance(),
	}
}

// Teams lists every team, or only scope when it is not empty.
func (d *DB) Teams(ctx context.Context, scope string, now time.Time) ([]api.Team, error) {
	var out []api.Team
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT id FROM teams WHERE (? = '' OR id = ?) ORDER BY id`, scope, scope)
		if err != nil {
			return err
		}
		ids, err := scanStrings(rows)
		if err != nil {
			return err
		}
		for _, id := range ids {
			l, err := loadPool(ctx, x, id, now, unlocked)
			if err != nil {
				return err
			}
			out = append(out, teamOf(l))
		}
		return nil
	})
	return out, err
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetRestrictions sets which products the team's tokens cover.
func (d *DB) SetRestrictions(ctx context.Context, team string, r api.Restrictions, now time.Time) (api.Team, error) {
	for _, p := range r.Products {
		if p != "*" {
			if err := checkID("product", p); err != nil {
				return api.Team{}, err
			}
		}
	}
	err := d.withPool(ctx, now, team, func(p *pool) error {
		_, err := p.t.exec(ctx, `UPDATE teams SET products = ? WHERE id = ?`, encodeProducts(r.Products), team)
		return err
	})
	if err != nil {
		return api.Team{}, err
	}
	return d.Team(ctx, team, now)
}

// SetSettings changes the team's low-balance threshold and webhook.
func (d *DB) SetSettings(ctx context.Context, team string, s api.Settings, now time.Time) (api.Team, error) {
	if s.ThresholdAbsolute != nil && (*s.ThresholdAbsolute < 0 || *s.ThresholdAbsolute > charge.MaxPack) {
		return api.Team{}, errf(api.CodeBadRequest, "threshold_absolute %d: want 0 (use the percent) to %d tokens", *s.ThresholdAbsolute, int64(charge.MaxPack))
	}
	if s.ThresholdPercent != nil && (*s.ThresholdPercent < 0 || *s.ThresholdPercent > 100) {
		return api.Team{}, errf(api.CodeBadRequest, "threshold_percent %d: want 0 (the default, 20) to 100", *s.ThresholdPercent)
	}
	if s.Webhook != nil && *s.Webhook != "" {
		if err := checkText("webhook", *s.Webhook, 2048, true); err != nil {
			return api.Team{}, err
		}
		if err := checkWebhook(*s.Webhook); err != nil {
			return api.Team{}, err
		}
	}
	var secret string
	err := d.withPool(ctx, now, team, func(p *pool) error {
		if s.ThresholdAbsolute != nil {
			p.Threshold.Absolute = *s.ThresholdAbsolute
		}
		if s.ThresholdPercent != nil {
			p.Threshold.Percent = *s.ThresholdPercent
		}
		if s.Webhook != nil {
			p.webhook = *s.Webhook
			// A new webhook gets a new signing key, shown once, in this answer.
			if secret = ""; p.webhook != "" {
				secret = NewSecret("whsec_")
			}
			if _, err := p.t.exec(ctx, `UPDATE teams SET webhook_secret = ? WHERE id = ?`, secret, team); err != nil {
				return err
			}
		}
		_, err := p.t.exec(ctx, `UPDATE teams SET threshold_absolute = ?, threshold_percent = ?, webhook = ? WHERE id = ?`,
			p.Threshold.Absolute, p.Threshold.Percent, p.webhook, team)
		return err
	})
	if err != nil {
		return api.Team{}, err
	}
	t, err := d.Team(ctx, team, now)
	t.WebhookSecret = secret
	return t, err
}

// BuyPack adds a pack of tokens bought at now to the team.
func (d *DB) BuyPack(ctx context.Context, team string, b api.BuyPack, now time.Time) (api.Pack, error) {
	// A pack expires one year after its purchase date: bought counts from the start of
	// the day (UTC) it was bought on.
	k, err := charge.NewPack(randomID("pk_"), team, b.Tokens, now.UTC().Truncate(charge.Day))
	if err != nil {
		if errors.Is(err, charge.ErrSmallOrder) {
			return api.Pack{}, errf(api.CodeSmallOrder, "%v", err)
		}
		return api.Pack{}, errf(api.CodeBadRequest, "%v", err)
	}
	err = d.withPool(ctx, now, team, func(p *pool) error {
		_, err := p.t.exec(ctx, `INSERT INTO packs (id, team, tokens, left_tokens, bought, expires) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, team, k.Tokens, k.Left, ns(k.Bought), ns(k.Expires()))
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		if err := p.add(ctx, k, api.MovePurchase); err != nil {
			return err
		}
		k = p.Packs[len(p.Packs)-1]
		return nil
	})
	if err != nil {
		return api.Pack{}, err
	}
	return api.Pack{Pack: k, Expires: k.Expires()}, nil
}

// TransferPack moves a whole pack from one team to another.
func (d *DB) TransferPack(ctx context.Context, from, id string, t api.Transfer, now time.Time) (api.Pack, error) {
	if t.To == from {
		return api.Pack{}, errf(api.CodeBadRequest, "pack %s is in team %s already; name another team with --to", id, from)
	}
	if t.Tokens < 0 {
		return api.Pack{}, errf(api.CodeBadRequest, "tokens %d: give what is left in the pack, or nothing", t.Tokens)
	}
	var k charge.Pack
	err := d.withPools(ctx, now, []string{from, t.To}, func(ps map[string]*pool) error {
		var err error
		k, err = ps[from].take(ctx, id, t.Tokens)
		switch {
		case errors.Is(err, charge.ErrPartialTransfer):
			return errf(api.CodePartialTransfer, "%v", err)
		case errors.Is(err, charge.ErrUnknownPack):
			return errf(api.CodeNotFound, "%v", err)
		case errors.Is(err, charge.ErrPackExpiredOrder):
			return errf(api.CodeConflict, "%v", err)
		case err != nil:
			return err
		}
		// Tokens held for sessions in grace stay: a pack that would leave them without
		// cover does not move until those sessions are charged or closed.
		if f := ps[from]; f.Held() > f.Unexpired(now) {
			return errf(api.CodeConflict, "pack %s cannot move now: %d of team %s's tokens are held for sessions in grace, and without this pack only %d would be left to cover them; try again once those sessions are charged or closed (at most a few minutes of use)",
				id, f.Held(), from, f.Unexpired(now))
		}
		if _, err := ps[from].t.exec(ctx, `UPDATE packs SET team = ? WHERE id = ?`, t.To, id); err != nil {
			return err
		}
		to := ps[t.To]
		if err := to.add(ctx, k, api.MoveTransferIn); err != nil {
			return err
		}
		k = to.Packs[len(to.Packs)-1]
		return nil
	})
	if err != nil {
		return api.Pack{}, err
	}
	return api.Pack{Pack: k, Expires: k.Expires()}, nil
}

// Packs lists the team's packs, the newest first.
func (d *DB) Packs(ctx context.Context, team string) ([]api.Pack, error) {
	var out []api.Pack
	err := d.read(ctx, func(x tx) error {
		var err error
		out, err = packs(ctx, x, team, 0)
		return err
	})
	return out, err
}

// packs lists a team's packs; with liveAt set, only those that still hold tokens and
// have not expired by then.
func packs(ctx context.Context, x tx, team string, liveAt int64) ([]api.Pack, error) {
	rows, err := x.query(ctx, `SELECT id, tokens, left_tokens, bought FROM packs WHERE team = ? AND (? = 0 OR (expires > ? AND left_tokens > 0)) ORDER BY bought DESC, id`,
		team, liveAt, liveAt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Pack
	for rows.Next() {
		k := charge.Pack{Team: team}
		var bought int64
		if err := rows.Scan(&k.ID, &k.Tokens, &k.Left, &bought); err != nil {
			return nil, err
		}
		k.Bought = fromNS(bought)
		out = append(out, api.Pack{Pack: k, Expires: k.Expires()})
	}
	return out, rows.Err()
}
