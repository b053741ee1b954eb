package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// use is a user's use of a product, whose caps a change may have crossed.
type use struct{ user, product string }

// touch marks the caps of user and product for the notice check at the end of the change.
func (p *pool) touch(user, product string) {
	if p.touched == nil {
		p.touched = map[use]bool{}
	}
	p.touched[use{user, product}] = true
}

// budgetRow is a cap as stored, with its notice state.
type budgetRow struct {
	charge.Budget
	noticedFrom, noticed int64
}

// budgets loads the team's caps that apply to user ("" for all of them), each with what
// was charged and held against it in its period at p.now: charges by the start of their
// window, holds as they stand (rule 13).
func (p *pool) budgets(ctx context.Context, user string) ([]charge.Budget, error) {
	rows, err := p.budgetRows(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]charge.Budget, len(rows))
	for i, r := range rows {
		out[i] = r.Budget
	}
	return out, nil
}

func (p *pool) budgetRows(ctx context.Context, user string) ([]budgetRow, error) {
	return p.budgetRowsIf(ctx, user, func(charge.Budget) bool { return true })
}

// budgetRowsIf is budgetRows for the caps keep accepts; the others are not counted.
func (p *pool) budgetRowsIf(ctx context.Context, user string, keep func(charge.Budget) bool) ([]budgetRow, error) {
	// The team's token price comes in the same read, for the caps' money (Budget.String).
	q := `SELECT b.user_id, b.product, b.period, b.tokens, b.noticed_from, b.noticed, COALESCE(x.tokens, 0), COALESCE(x.until, 0),
			COALESCE(pr.currency, ''), COALESCE(pr.token_milli, 0)
		FROM budgets b LEFT JOIN budget_extensions x ON x.team = b.team AND x.user_id = b.user_id AND x.product = b.product
			LEFT JOIN team_prices pr ON pr.team = b.team
		WHERE b.team = ?`
	args := []any{p.Team}
	if user != "" {
		q += ` AND b.user_id IN ('', ?)`
		args = append(args, user)
	}
	rows, err := p.t.query(ctx, q+` ORDER BY b.user_id, b.product, b.period`, args...)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	var out []budgetRow
	for rows.Next() {
		r := budgetRow{Budget: charge.Budget{Team: p.Team}}
		var period string
		var until int64
		if err := rows.Scan(&r.User, &r.Product, &period, &r.Tokens, &r.noticedFrom, &r.noticed, &r.Extra, &until, &r.Currency, &r.TokenMilli); err != nil {
			rows.Close()
			return nil, err
		}
		r.Period = charge.Period(period)
		if r.Extra > 0 && until > ns(p.now) {
			r.ExtraUntil = fromNS(until)
		} else {
			r.Extra = 0
		}
		r.From = r.Period.Start(p.now)
		if keep(r.Budget) {
			out = append(out, r)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Used, err = p.used(ctx, out[i].Budget); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// used is what was charged in b's period at p.now and is held now, for b's scope.
func (p *pool) used(ctx context.Context, b charge.Budget) (int64, error) {
	q := `SELECT COALESCE(SUM(tokens), 0) FROM charges WHERE team = ? AND start >= ? AND start < ?`
	args := []any{p.Team, ns(b.From), ns(b.Period.End(p.now))}
	if b.User != "" {
		q += ` AND user_id = ?`
		args = append(args, b.User)
	}
	if b.Product != "" {
		q += ` AND product = ?`
		args = append(args, b.Product)
	}
	var n int64
	if err := p.t.row(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("budget use: %w", err)
	}
	for id, h := range p.Holds {
		if m := p.meta[id]; b.Applies(m.user, m.product) {
			n += h
		}
	}
	return n, nil
}

// budgetNotices tells the team's admins when a cap reaches 80 % and 100 %, once per
// crossing: once per level in a period, told again only after the cap was changed or
// extended below what is used.
//
// Only the caps of the users and products whose use changed in this transaction are
// counted, so that a team with a cap on each of hundreds of users does not count them all
// on every charge.
func (p *pool) budgetNotices(ctx context.Context) error {
	rows, err := p.touchedCaps(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		lvl, told, limit := r.levels(p.now)
		if lvl <= told {
			continue
		}
		for _, l := range []int64{80, 100} {
			if l > told && l <= lvl {
				n := api.BudgetNotice{Kind: api.NoticeBudget, Level: l, Budget: r.Budget, Limit: limit, At: p.now}
				if err := notify(ctx, p.t, p.Team, n.Kind, n, p.now); err != nil {
					return err
				}
			}
		}
		if _, err := p.t.exec(ctx, `UPDATE budgets SET noticed_from = ?, noticed = ? WHERE team = ? AND user_id = ? AND product = ? AND period = ?`,
			ns(r.From), lvl, p.Team, r.User, r.Product, string(r.Period)); err != nil {
			return fmt.Errorf("budget notice: %w", err)
		}
	}
	return nil
}

// touchedCaps are the caps of the users and products whose use changed, with their use.
func (p *pool) touchedCaps(ctx context.Context) ([]budgetRow, error) {
	if len(p.touched) == 0 {
		return nil, nil
	}
	return p.budgetRowsIf(ctx, "", func(b charge.Budget) bool {
		for k := range p.touched {
			if b.Applies(k.user, k.product) {
				return true
			}
		}
		return false
	})
}

// capsDue reports whether a touched cap has reached a level not yet told.
func (p *pool) capsDue(ctx context.Context) (bool, error) {
	rows, err := p.touchedCaps(ctx)
	for _, r := range rows {
		if lvl, told, _ := r.levels(p.now); lvl > told {
			return true, nil
		}
	}
	return false, err
}

// levels are the notice level r's use has reached at now, the level already told in its
// current period, and its limit.
func (r budgetRow) levels(now time.Time) (lvl, told, limit int64) {
	if r.noticedFrom == ns(r.From) {
		told = r.noticed
	}
	limit = r.Limit(now)
	return charge.BudgetLevel(r.Used, limit), told, limit
}

// rearm lets a scope's caps be told again at the levels they are now below, after the
// cap was changed or extended.
func (p *pool) rearm(ctx context.Context, user, product string) error {
	rows, err := p.budgetRows(ctx, "")
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.User != user || r.Product != product {
			continue
		}
		lvl := min(r.noticed, charge.BudgetLevel(r.Used, r.Limit(p.now)))
		if _, err := p.t.exec(ctx, `UPDATE budgets SET noticed = ? WHERE team = ? AND user_id = ? AND product = ? AND period = ?`,
			lvl, p.Team, r.User, r.Product, string(r.Period)); err != nil {
			return err
		}
	}
	return nil
}

// checkScope validates whom a cap is on: the team, or one user or one product of it.
func checkScope(ctx context.Context, x tx, team, user, product string) error {
	switch {
	case user != "" && product != "":
		return errf(api.CodeBadRequest, "a cap is on the team, one user or one product: give --user or --product, not both")
	case user != "":
		if err := checkID("user", user); err != nil {
			return err
		}
		_, err := userOf(ctx, x, team, user)
		return err
	case product != "":
		if err := checkID("product", product); err != nil {
			return err
		}
		r, err := rates(ctx, x)
		if err != nil {
			return err
		}
		if _, ok := r[product]; !ok {
			return errf(api.CodeNotFound, "product %q is not in the catalogue; add it with 'tollgate ledger product add'", product)
		}
	}
	return nil
}

// MaxBudget bounds a cap, as a typo guard.
const MaxBudget = charge.MaxPack

// SetBudget sets or changes a cap.
func (d *DB) SetBudget(ctx context.Context, team string, b api.SetBudget, now time.Time) (charge.Budget, error) {
	if !b.Period.Valid() {
		return charge.Budget{}, errf(api.CodeBadRequest, "period %q: want day or month", b.Period)
	}
	if b.Tokens < 0 || b.Tokens > MaxBudget {
		return charge.Budget{}, errf(api.CodeBadRequest, "cap of %d tokens: want 0 to %d", b.Tokens, int64(MaxBudget))
	}
	if b.CostMilli != 0 && b.Tokens != 0 {
		return charge.Budget{}, errf(api.CodeBadRequest, "give the cap in tokens or in money, not both")
	}
	if b.CostMilli < 0 || b.CostMilli > maxMilli*MaxBudget {
		return charge.Budget{}, errf(api.CodeBadRequest, "cap of %s in money: want a positive amount", milliText(b.CostMilli))
	}
	var out charge.Budget
	err := d.withPool(ctx, now, team, func(p *pool) error {
		if err := checkScope(ctx, p.t, team, b.User, b.Product); err != nil {
			return err
		}
		if b.CostMilli > 0 {
			tokens, err := tokensFor(ctx, p.t, team, b.CostMilli)
			if err != nil {
				return err
			}
			b.Tokens = tokens
		}
		res, err := p.t.exec(ctx, `UPDATE budgets SET tokens = ? WHERE team = ? AND user_id = ? AND product = ? AND period = ?`,
			b.Tokens, team, b.User, b.Product, string(b.Period))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := p.t.exec(ctx, `INSERT INTO budgets (team, user_id, product, period, tokens) VALUES (?, ?, ?, ?, ?)`,
				team, b.User, b.Product, string(b.Period), b.Tokens); err != nil {
				return err
			}
		}
		if err := p.rearm(ctx, b.User, b.Product); err != nil {
			return err
		}
		p.touch(b.User, b.Product) // a cap set below what is used is told now
		out, err = p.findBudget(ctx, b.User, b.Product, b.Period)
		return err
	})
	return out, err
}

func (p *pool) findBudget(ctx context.Context, user, product string, period charge.Period) (charge.Budget, error) {
	rows, err := p.budgetRows(ctx, "")
	if err != nil {
		return charge.Budget{}, err
	}
	for _, r := range rows {
		if r.User == user && r.Product == product && r.Period == period {
			return r.Budget, nil
		}
	}
	return charge.Budget{}, errf(api.CodeNotFound, "no %s cap on %s", period, scopeText(p.Team, user, product))
}

func scopeText(team, user, product string) string {
	return charge.Budget{Team: team, User: user, Product: product}.Scope()
}

// RemoveBudget removes a cap; removing one that does not exist is an error, so that a
// typo is not taken for success.
func (d *DB) RemoveBudget(ctx context.Context, team, user, product string, period charge.Period, now time.Time) error {
	if !period.Valid() {
		return errf(api.CodeBadRequest, "period %q: want day or month", period)
	}
	for _, f := range []struct{ what, s string }{{"user", user}, {"product", product}} {
		if err := checkText(f.what, f.s, MaxText, false); err != nil {
			return err
		}
	}
	return d.withPool(ctx, now, team, func(p *pool) error {
		res, err := p.t.exec(ctx, `DELETE FROM budgets WHERE team = ? AND user_id = ? AND product = ? AND period = ?`, team, user, product, string(period))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errf(api.CodeNotFound, "no %s cap on %s; list them with 'tollgate ledger budget list --team %s'", period, scopeText(team, user, product), team)
		}
		return nil
	})
}

// ExtendBudget raises a scope's caps by x.Tokens until x.Until, replacing an earlier
// extension of the scope.
func (d *DB) ExtendBudget(ctx context.Context, team string, x api.ExtendBudget, now time.Time) ([]charge.Budget, error) {
	if x.Tokens < 1 || x.Tokens > MaxBudget {
		return nil, errf(api.CodeBadRequest, "extension of %d tokens: want 1 to %d", x.Tokens, int64(MaxBudget))
	}
	if x.Until.IsZero() {
		return nil, errf(api.CodeBadRequest, "until: missing; give the RFC 3339 time the extension ends")
	}
	if err := charge.CheckTime("until", x.Until); err != nil {
		return nil, errf(api.CodeBadRequest, "%v", err)
	}
	if !x.Until.After(now) {
		return nil, errf(api.CodeBadRequest, "until %s is in the past (ledger time %s); give a later time", x.Until.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	var out []charge.Budget
	err := d.withPool(ctx, now, team, func(p *pool) error {
		if err := checkScope(ctx, p.t, team, x.User, x.Product); err != nil {
			return err
		}
		rows, err := p.budgetRows(ctx, "")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.User == x.User && r.Product == x.Product {
				out = append(out, r.Budget)
			}
		}
		if len(out) == 0 {
			return errf(api.CodeNotFound, "no cap on %s to extend; set one with 'tollgate ledger budget set'", scopeText(team, x.User, x.Product))
		}
		if _, err := p.t.exec(ctx, `DELETE FROM budget_extensions WHERE team = ? AND user_id = ? AND product = ?`, team, x.User, x.Product); err != nil {
			return err
		}
		if _, err := p.t.exec(ctx, `INSERT INTO budget_extensions (team, user_id, product, tokens, until, created) VALUES (?, ?, ?, ?, ?, ?)`,
			team, x.User, x.Product, x.Tokens, ns(x.Until), ns(now)); err != nil {
			return err
		}
		if err := p.rearm(ctx, x.User, x.Product); err != nil {
			return err
		}
		p.touch(x.User, x.Product)
		out = out[:0]
		rows, err = p.budgetRows(ctx, "")
		for _, r := range rows {
			if r.User == x.User && r.Product == x.Product {
				out = append(out, r.Budget)
			}
		}
		return err
	})
	return out, err
}

// Budgets lists a team's caps with what is used of each at now.
func (d *DB) Budgets(ctx context.Context, team string, now time.Time) ([]charge.Budget, error) {
	var out []charge.Budget
	err := d.read(ctx, func(x tx) error {
		l, err := loadPool(ctx, x, team, now, unlocked)
		if err != nil {
			return err
		}
		l.releaseStale()
		out, err = l.budgets(ctx, "")
		return err
	})
	return out, err
}

// tokensFor is how many whole tokens cost milli thousandths of the team's currency at its
// token price: rounded down, so that a cap in money never lets more than that be spent.
func tokensFor(ctx context.Context, x tx, team string, milli int64) (int64, error) {
	var cur string
	var price int64
	err := x.row(ctx, `SELECT currency, token_milli FROM team_prices WHERE team = ?`, team).Scan(&cur, &price)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && price <= 0) {
		return 0, errf(api.CodeBadRequest, "team %s has no token price, so a cap in money cannot be turned into tokens: set one with 'tollgate ledger price set --team %s --currency EUR --token-price 12.50' (or on the console's Forecast page), or give the cap in tokens", team, team)
	}
	if err != nil {
		return 0, err
	}
	tokens := milli / price
	if tokens > MaxBudget {
		return 0, errf(api.CodeBadRequest, "a cap of %s %s is %d tokens at the team's price: want at most %d", milliText(milli), cur, tokens, int64(MaxBudget))
	}
	return tokens, nil
}

// milliText writes thousandths as an amount with two decimals, or three when needed.
func milliText(m int64) string {
	if m%10 != 0 {
		return fmt.Sprintf("%d.%03d", m/1000, m%1000)
	}
	return fmt.Sprintf("%d.%02d", m/1000, m%1000/10)
}
