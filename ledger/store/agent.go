package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
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
		f, err := readUser(ctx, x, team, user, "", now)
		if err != nil {
			return err
		}
		l, err := loadPool(ctx, x, team, now, unlocked)
		if err != nil {
			return err
		}
		l.releaseStale()
		e, err = entitlement(ctx, l.pool, f)
		return err
	})
	return e, err
}

// userFacts is what a launch decision reads of a user that does not need the team's
// lock: read before it is taken, they keep the lock's hold short. A window paid by a
// charge committed in between is missed at worst, and the launch then enters grace
// instead of the paid window; its charge is folded into that window.
type userFacts struct {
	user    api.User
	rates   map[string]int64
	windows []charge.Window
}

// readUser reads them; product, when not empty, must be in the catalogue.
func readUser(ctx context.Context, x tx, team, user, product string, now time.Time) (userFacts, error) {
	var f userFacts
	var err error
	if f.rates, err = rates(ctx, x); err != nil {
		return f, err
	}
	if _, ok := f.rates[product]; !ok && product != "" {
		return f, errf(api.CodeNotFound, "product %q is not in the catalogue; check the agent's product list or add it with 'tollgate ledger product add'", product)
	}
	if f.user, err = userOf(ctx, x, team, user); err != nil {
		return f, err
	}
	f.windows, err = openWindows(ctx, x, team, user, now)
	return f, err
}

// openWindows are the user's windows that started within a day of now, in the order they
// started. A user's windows of one product never overlap, so the only one of a product
// that can have started within a day is its latest, which latest_windows keeps: the query
// reads a row per product, however long the user's history (migration 191).
func openWindows(ctx context.Context, x tx, team, user string, now time.Time) ([]charge.Window, error) {
	out := []charge.Window{}
	rows, err := x.query(ctx, WindowsQuery, team, user, ns(now.Add(-charge.Day)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		w := charge.Window{Key: charge.Key{Team: team, User: user}}
		var start int64
		if err := rows.Scan(&w.Key.Product, &start, &w.Tokens, &w.Device); err != nil {
			return nil, err
		}
		w.Key.Start = fromNS(start)
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b charge.Window) int {
		return cmp.Or(a.Key.Start.Compare(b.Key.Start), strings.Compare(a.Key.Product, b.Key.Product))
	})
	return out, rows.Err()
}

// WindowsQuery is openWindows' query: a user's latest window of each product, when it
// started after the time given.
const WindowsQuery = `SELECT product, start, tokens, device FROM latest_windows WHERE team = ? AND user_id = ? AND start > ?`

// entitlement is a user's snapshot from the pool p and what was read of the user.
func entitlement(ctx context.Context, p *pool, f userFacts) (charge.Entitlement, error) {
	u := f.user
	e := charge.Entitlement{
		User: u.ID, Team: p.Team, Assigned: u.Assigned, Subscriptions: u.Subscriptions,
		TeamProducts: p.products, UserProducts: u.Products, Rates: f.rates,
		Available: p.Available(p.now), Windows: f.windows, AsOf: p.now,
	}
	var err error
	e.Budgets, err = p.budgets(ctx, u.ID)
	return e, err
}

func holdKey(device, hold string) string { return charge.LedgerHold(device, hold) }

// Authorize decides a launch with charge.Decide on the snapshot taken under the team's
// decision lock (decide.go), and holds the product's rate when the launch enters grace:
// two launches racing for the last tokens are decided one after the other.
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
	var f userFacts
	before := func(x tx) error {
		var err error
		f, err = readUser(ctx, x, team, a.User, a.Product, now)
		return err
	}
	err := d.decide(ctx, now, team, before, func(p *pool) error {
		key := holdKey(device, a.Hold)
		// A retried request must not be refused for the hold it placed itself.
		p.Release(key)
		e, err := entitlement(ctx, p, f)
		if err != nil {
			return err
		}
		out.Decision = charge.Decide(e, a.Product, now, charge.Policy{})
		if out.Decision.Reason != charge.InGrace {
			return p.save(ctx, "hold", "")
		}
		covered, n := p.deviceHolds(device, key, a.User, a.Product)
		switch {
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
// user and product, if any, from the holds loaded with the pool.
func (p *pool) deviceHolds(device, key, user, product string) (covered string, n int) {
	for id := range p.Holds {
		m := p.meta[id]
		if id == key || m.device != device {
			continue
		}
		n++
		if m.user == user && m.product == product {
			covered = id
		}
	}
	return covered, n
}

// Release frees a hold of device. Releasing a hold that is gone does nothing, so a
// retried release is harmless.
func (d *DB) Release(ctx context.Context, team, device, hold string, now time.Time) error {
	if err := checkText("hold", hold, MaxText, true); err != nil {
		return err
	}
	return d.decide(ctx, now, team, nil, func(p *pool) error {
		p.Release(holdKey(device, hold))
		return p.save(ctx, "release", "")
	})
}
