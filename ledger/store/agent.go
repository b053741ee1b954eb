package store

import (
	"context"
	"fmt"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// Bounds on the times a device may report. A device offline for months still syncs; one
// whose clock says next week is wrong, and its events are refused before anything is
// stored.
const (
	MaxSkew = time.Hour
	MaxAge  = 400 * charge.Day
)

// Entitlement is the snapshot of a user that the agent decides launches from.
func (d *DB) Entitlement(ctx context.Context, team, user string, now time.Time) (charge.Entitlement, error) {
	var e charge.Entitlement
	err := d.read(ctx, func(x tx) error {
		l, err := loadPool(ctx, x, team, now, false)
		if err != nil {
			return err
		}
		for id := range l.Holds {
			if l.holdCreated[id] < ns(now.Add(-StaleHold)) {
				l.Release(id)
			}
		}
		e, err = entitlement(ctx, l.pool, user)
		return err
	})
	return e, err
}

func entitlement(ctx context.Context, p *pool, user string) (charge.Entitlement, error) {
	u, err := userOf(ctx, p.t, p.Team, user)
	if err != nil {
		return charge.Entitlement{}, err
	}
	r, err := rates(ctx, p.t)
	if err != nil {
		return charge.Entitlement{}, err
	}
	e := charge.Entitlement{
		User: user, Team: p.Team, Assigned: u.Assigned, Subscriptions: u.Subscriptions,
		TeamProducts: p.products, UserProducts: u.Products, Rates: r,
		Available: p.Available(p.now), Windows: []charge.Window{}, AsOf: p.now,
	}
	if e.Budgets, err = p.budgets(ctx, user); err != nil {
		return e, err
	}
	rows, err := p.t.query(ctx, `SELECT product, start, tokens, device FROM charges WHERE team = ? AND user_id = ? AND start > ? ORDER BY start`,
		p.Team, user, ns(p.now.Add(-charge.Day)))
	if err != nil {
		return e, err
	}
	defer rows.Close()
	for rows.Next() {
		w := charge.Window{Key: charge.Key{Team: p.Team, User: user}}
		var start int64
		if err := rows.Scan(&w.Key.Product, &start, &w.Tokens, &w.Device); err != nil {
			return e, err
		}
		w.Key.Start = fromNS(start)
		e.Windows = append(e.Windows, w)
	}
	return e, rows.Err()
}

func holdKey(device, hold string) string { return charge.LedgerHold(device, hold) }

// Authorize decides a launch with charge.Decide on the snapshot taken under the team's
// lock, and holds the product's rate when the launch enters grace: two launches racing
// for the last tokens are decided one after the other.
func (d *DB) Authorize(ctx context.Context, team, device string, a api.Authorize, now time.Time) (api.Authorized, error) {
	if err := checkID("user", a.User); err != nil {
		return api.Authorized{}, err
	}
	if err := checkID("product", a.Product); err != nil {
		return api.Authorized{}, err
	}
	if a.Hold == "" {
		a.Hold = randomID("hd_")
	} else if err := checkText("hold", a.Hold, MaxText, true); err != nil {
		return api.Authorized{}, err
	}
	out := api.Authorized{ServerTime: now}
	err := d.withPool(ctx, now, team, func(p *pool) error {
		r, err := rates(ctx, p.t)
		if err != nil {
			return err
		}
		if _, ok := r[a.Product]; !ok {
			return errf(api.CodeNotFound, "product %q is not in the catalogue; check the agent's product list or add it with 'tollgate ledger product add'", a.Product)
		}
		key := holdKey(device, a.Hold)
		// A retried request must not be refused for the hold it placed itself.
		p.Release(key)
		e, err := entitlement(ctx, p, a.User)
		if err != nil {
			return err
		}
		out.Decision = charge.Decide(e, a.Product, now, charge.Policy{})
		if out.Decision.Reason != charge.InGrace {
			return p.save(ctx, "hold", "")
		}
		covered, n, err := p.deviceHolds(ctx, device, key, a.User, a.Product)
		switch {
		case err != nil:
			return err
		case covered != "":
			// One hold per session: the device holds this user's product already (a
			// second process of the same session); it covers this launch too.
			return p.save(ctx, "hold", "")
		case n >= MaxDeviceHolds:
			return errf(api.CodeTooManyHolds, "this device holds tokens for %d sessions in grace already, the most one device may; the launch is decided on the device, and the holds end as those sessions are charged or closed", n)
		}
		p.Hold(key, out.Decision.Rate)
		p.meta[key] = holdMeta{device: device, user: a.User, product: a.Product}
		p.touch(a.User, a.Product)
		out.Hold, out.HoldTokens = a.Hold, out.Decision.Rate
		return p.save(ctx, "hold", "")
	})
	return out, err
}

// MaxDeviceHolds bounds the holds one device may have at once: one per session in grace,
// and a session is a (user, product) on the device, so this is the number of users
// launching products at once on one workstation (a terminal server included) that the
// ledger protects from racing for the last tokens. Beyond it, launches are decided on
// the device alone; a device cannot set aside more of its team's pool than this many
// rates.
const MaxDeviceHolds = 16

// deviceHolds counts device's live holds other than key, and names the one it holds for
// user and product, if any.
func (p *pool) deviceHolds(ctx context.Context, device, key, user, product string) (covered string, n int, err error) {
	rows, err := p.t.query(ctx, `SELECT id, user_id, product FROM holds WHERE team = ? AND device = ?`, p.Team, device)
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, u, pr string
		if err := rows.Scan(&id, &u, &pr); err != nil {
			return "", 0, err
		}
		if _, live := p.Holds[id]; !live || id == key {
			continue
		}
		n++
		if u == user && pr == product {
			covered = id
		}
	}
	return covered, n, rows.Err()
}

// Release frees a hold of device. Releasing a hold that is gone does nothing, so a
// retried release is harmless.
func (d *DB) Release(ctx context.Context, team, device, hold string, now time.Time) error {
	if err := checkText("hold", hold, MaxText, true); err != nil {
		return err
	}
	return d.withPool(ctx, now, team, func(p *pool) error {
		p.Release(holdKey(device, hold))
		return p.save(ctx, "release", "")
	})
}

var kinds = map[charge.Kind]bool{
	charge.Opened: true, charge.Denied: true, charge.Held: true, charge.Released: true,
	charge.Charged: true, charge.Folded: true, charge.Ended: true, charge.Renewing: true,
	charge.Closing: true, charge.Close: true, charge.Rollback: true,
}

// MaxBatch is the most events one ingest may carry.
const MaxBatch = 1000

// checkEvent reports why an event cannot be applied at all, or nil.
func checkEvent(ctx context.Context, x tx, team string, e api.Event, known map[string]int64, now time.Time) error {
	if err := checkText("id", e.ID, MaxText, true); err != nil {
		return err
	}
	for _, f := range []struct {
		what, s string
	}{{"hold", e.Hold}, {"device", e.Device}, {"reason", string(e.Reason)}} {
		if err := checkText(f.what, f.s, MaxText, false); err != nil {
			return err
		}
	}
	for _, p := range e.Procs {
		if err := checkText("procs", p, MaxText, false); err != nil {
			return err
		}
	}
	if !kinds[e.Kind] {
		return errf(api.CodeBadRequest, "kind %q: want one of opened, denied, held, released, charged, folded, ended, renewing, closing, close, rollback", e.Kind)
	}
	if err := checkTime("at", e.At, now); err != nil {
		return err
	}
	for _, f := range []struct {
		what string
		t    time.Time
	}{{"until", e.Until}, {"from", e.From}} {
		if !f.t.IsZero() {
			if err := charge.CheckTime(f.what, f.t); err != nil {
				return errf(api.CodeBadRequest, "%v", err)
			}
		}
	}
	if e.Tokens < 0 || e.Tokens > MaxRate {
		return errf(api.CodeBadRequest, "tokens %d: want 0 to %d", e.Tokens, MaxRate)
	}
	if e.Use < 0 || e.Use > MaxAge {
		return errf(api.CodeBadRequest, "use %v: want a duration from 0 to %v", e.Use, MaxAge)
	}
	if e.Kind == charge.Rollback {
		return nil
	}
	if err := checkID("user", e.User); err != nil {
		return err
	}
	if _, ok := known[e.Product]; !ok {
		return errf(api.CodeNotFound, "product %q is not in the catalogue", e.Product)
	}
	if e.Kind != charge.Charged {
		return nil
	}
	k := e.Key
	if k.Team != team {
		return errf(api.CodeForbidden, "charge key is for team %q; this device belongs to team %q", k.Team, team)
	}
	if k.User != e.User || k.Product != e.Product {
		return errf(api.CodeBadRequest, "charge key %s does not match the event's user %q and product %q", k, e.User, e.Product)
	}
	if err := checkTime("key.start", k.Start, now); err != nil {
		return err
	}
	if e.Tokens < 1 {
		return errf(api.CodeBadRequest, "a charge of %d tokens: want 1 to %d", e.Tokens, MaxRate)
	}
	if _, err := userOf(ctx, x, team, e.User); err != nil {
		return err
	}
	return nil
}

func checkTime(what string, t, now time.Time) error {
	if t.IsZero() {
		return errf(api.CodeBadRequest, "%s: missing; give an RFC 3339 time", what)
	}
	if err := charge.CheckTime(what, t); err != nil {
		return errf(api.CodeBadRequest, "%v", err)
	}
	switch {
	case t.After(now.Add(MaxSkew)):
		return errf(api.CodeBadRequest, "%s %s is in the future (ledger time %s); check the device's clock", what, t.Format(time.RFC3339), now.Format(time.RFC3339))
	case t.Before(now.Add(-MaxAge)):
		return errf(api.CodeBadRequest, "%s %s is more than %d days old", what, t.Format(time.RFC3339), MaxAge/charge.Day)
	}
	return nil
}

// Ingest applies a device's batch of events. A batch with any event that cannot be
// applied at all (bad values, an unknown product, another team's key) is refused whole
// and nothing is stored; otherwise each event is answered on its own: a charge debits
// once per key, ever, and a charge whose window overlaps one already paid is folded.
// A charge is debited even when the pool is short, as overdraft: the use it pays for
// has happened.
func (d *DB) Ingest(ctx context.Context, team, device string, events []api.Event, now time.Time) ([]api.Result, error) {
	if len(events) > MaxBatch {
		return nil, errf(api.CodeTooLarge, "%d events in one batch: send at most %d", len(events), MaxBatch)
	}
	out := make([]api.Result, len(events))
	err := d.withPool(ctx, now, team, func(p *pool) error {
		known, err := rates(ctx, p.t)
		if err != nil {
			return err
		}
		var bad []api.Result
		for _, e := range events {
			if err := checkEvent(ctx, p.t, team, e, known, now); err != nil {
				if Code(err) == api.CodeInternal {
					return err
				}
				bad = append(bad, api.Result{ID: e.ID, Status: api.Refused, Code: Code(err), Message: err.Error()})
			}
		}
		if len(bad) > 0 {
			return &Error{Code: api.CodeInvalidEvents, Message: fmt.Sprintf("%d of %d events cannot be applied; nothing was stored: %s", len(bad), len(events), bad[0].Message), Events: bad}
		}
		for i, e := range events {
			r, err := p.ingest(ctx, device, e)
			if err != nil {
				return fmt.Errorf("event %s: %w", e.ID, err)
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (p *pool) ingest(ctx context.Context, device string, e api.Event) (api.Result, error) {
	r := api.Result{ID: e.ID, Status: api.Accepted}
	var n int
	if err := p.t.row(ctx, `SELECT COUNT(*) FROM events WHERE device = ? AND id = ?`, device, e.ID).Scan(&n); err != nil {
		return r, err
	}
	if n > 0 {
		r.Status, r.Message = api.Duplicate, "this event was received before"
		return r, nil
	}
	hold := e.Hold
	if hold == "" {
		hold = e.HoldID()
	}
	key := holdKey(device, hold)
	switch e.Kind {
	case charge.Charged:
		var err error
		if r, err = p.charge(ctx, device, e, key); err != nil {
			return r, err
		}
	case charge.Released:
		p.Release(key)
		if err := p.save(ctx, "release", ""); err != nil {
			return r, err
		}
	}
	var start int64
	if e.Kind == charge.Charged {
		start = ns(e.Key.Start)
	}
	_, err := p.t.exec(ctx, `INSERT INTO events (device, id, team, kind, user_id, product, happened, key_start, tokens, use_ns, reason, status, code, message, received)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		device, e.ID, p.Team, string(e.Kind), e.User, e.Product, ns(e.At), start, e.Tokens, int64(e.Use), string(e.Reason),
		r.Status, r.Code, r.Message, ns(p.now))
	return r, err
}

func (p *pool) charge(ctx context.Context, device string, e api.Event, hold string) (api.Result, error) {
	r := api.Result{ID: e.ID, Status: api.Accepted}
	k := e.Key
	k.Start = k.Start.UTC()
	var tokens int64
	err := p.t.row(ctx, `SELECT tokens FROM charges WHERE team = ? AND user_id = ? AND product = ? AND start = ?`,
		k.Team, k.User, k.Product, ns(k.Start)).Scan(&tokens)
	switch {
	case err == nil && tokens == e.Tokens:
		p.Release(hold)
		r.Status, r.Window, r.Message = api.Duplicate, &k, "this window was charged before; nothing debited again"
		return r, p.save(ctx, "release", "")
	case err == nil:
		r.Status, r.Code = api.Refused, api.CodeConflict
		r.Message = fmt.Sprintf("window %s was charged %d tokens; this charge says %d and was not applied", k, tokens, e.Tokens)
		return r, nil
	case !isNoRows(err):
		return r, err
	}
	// The device's number is checked, not trusted: a window costs the rate in force
	// when it started. A refused charge settles its hold, so that the team's tokens are
	// not set aside for a day for a charge that will not come.
	rate, err := rateAt(ctx, p.t, k.Product, k.Start)
	if err != nil {
		return r, err
	}
	if e.Tokens != rate {
		p.Release(hold)
		r.Status, r.Code = api.Refused, api.CodeWrongRate
		r.Message = fmt.Sprintf("window %s costs %d tokens, the rate of %s when it started; this charge says %d and was not applied", k, rate, k.Product, e.Tokens)
		return r, p.save(ctx, "release", "")
	}
	var windows []charge.Window
	rows, err := p.t.query(ctx, `SELECT start, tokens, device FROM charges WHERE team = ? AND user_id = ? AND product = ? AND start > ? AND start < ?`,
		k.Team, k.User, k.Product, ns(k.Start.Add(-charge.Day)), ns(k.Start.Add(charge.Day)))
	if err != nil {
		return r, err
	}
	for rows.Next() {
		w := charge.Window{Key: charge.Key{Team: k.Team, User: k.User, Product: k.Product}}
		var start int64
		if err := rows.Scan(&start, &w.Tokens, &w.Device); err != nil {
			rows.Close()
			return r, err
		}
		w.Key.Start = fromNS(start)
		windows = append(windows, w)
	}
	if err := rows.Close(); err != nil {
		return r, err
	}
	if w, ok := charge.Fold(windows, k); ok {
		p.Release(hold)
		r.Status, r.Window = api.Folded, &w.Key
		r.Message = fmt.Sprintf("window %s, paid on another device, covers this charge; nothing debited", w.Key)
		return r, p.save(ctx, "release", "")
	}
	_, err = p.t.exec(ctx, `INSERT INTO charges (team, user_id, product, start, tokens, device, event_id, renewal, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.Team, k.User, k.Product, ns(k.Start), e.Tokens, device, e.ID, e.Renewal, ns(p.now))
	if err != nil {
		return r, fmt.Errorf("charge %s: %w", k, err)
	}
	if _, err := p.Debit(p.now, e.Tokens, hold, true); err != nil {
		return r, err
	}
	p.touch(k.User, k.Product)
	r.Window = &k
	return r, p.save(ctx, MoveDebit, k.String())
}
