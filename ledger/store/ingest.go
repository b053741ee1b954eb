package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// MaxBatch is the most events one ingest may carry.
const MaxBatch = 1000

// IngestChunk is the most events applied in one transaction. A device's batch of
// hundreds is applied in chunks, each its own transaction under the team's lock, and a
// chunk does not begin while a launch decision waits (see priority), so that a launch
// waits behind the chunks already under way, never behind a whole backlog.
const IngestChunk = 100

// Ingest applies a device's batch of events. A batch with any event that cannot be
// applied at all (bad values, an unknown product, another team's key) is refused whole
// and nothing is stored; otherwise each event is answered on its own: a charge debits
// once per key, ever, and a charge whose window overlaps one already paid is folded.
// A charge is debited even when the pool is short, as overdraft: the use it pays for
// has happened.
//
// The batch is applied in chunks of IngestChunk events. When a later chunk fails (the
// database went away) the earlier ones stay applied: the device sends the batch again,
// and what was applied is answered duplicate by its event id.
func (d *DB) Ingest(ctx context.Context, team, device string, events []api.Event, now time.Time) ([]api.Result, error) {
	if len(events) > MaxBatch {
		return nil, errf(api.CodeTooLarge, "%d events in one batch: send at most %d", len(events), MaxBatch)
	}
	out := make([]api.Result, 0, len(events))
	for start := 0; start == 0 || start < len(events); start += IngestChunk {
		chunk := events[start:min(start+IngestChunk, len(events))]
		var rs []api.Result
		if err := d.prio.yield(ctx); err != nil {
			return nil, err
		}
		err := d.withPool(ctx, now, team, func(p *pool) error {
			cat, err := loadCatalogue(ctx, p.t)
			if err != nil {
				return err
			}
			// The whole batch is checked before its first chunk is applied.
			if start == 0 {
				if err := checkBatch(ctx, p.t, team, events, cat, now); err != nil {
					return err
				}
			}
			rs, err = p.ingest(ctx, device, chunk, cat)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// checkBatch refuses a batch with any event that cannot be applied, naming each.
func checkBatch(ctx context.Context, x tx, team string, events []api.Event, cat catalogue, now time.Time) error {
	bad := map[int]error{}
	var users []string
	for i, e := range events {
		if err := checkEvent(team, e, cat, now); err != nil {
			bad[i] = err
		} else if (e.Kind == charge.Charged || e.Kind == charge.Saved) && !slices.Contains(users, e.User) {
			users = append(users, e.User)
		}
	}
	if len(users) > 0 {
		known, err := teamUsers(ctx, x, team, users)
		if err != nil {
			return err
		}
		for i, e := range events {
			if _, done := bad[i]; !done && (e.Kind == charge.Charged || e.Kind == charge.Saved) && !known[e.User] {
				bad[i] = notInTeam(team, e.User)
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	refused := make([]api.Result, 0, len(bad))
	for i, e := range events {
		if err, ok := bad[i]; ok {
			refused = append(refused, api.Result{ID: e.ID, Status: api.Refused, Code: Code(err), Message: err.Error()})
		}
	}
	return &Error{Code: api.CodeInvalidEvents, Message: fmt.Sprintf("%d of %d events cannot be applied; nothing was stored: %s", len(refused), len(events), refused[0].Message), Events: refused}
}

// teamUsers reports which of users are in team, in one query.
func teamUsers(ctx context.Context, x tx, team string, users []string) (map[string]bool, error) {
	cond, args := in(x.d, "id", users)
	rows, err := x.query(ctx, `SELECT id FROM users WHERE team = ? AND `+cond, append([]any{team}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		known[id] = true
	}
	return known, rows.Err()
}

var kinds = map[charge.Kind]bool{
	charge.Opened: true, charge.Denied: true, charge.Held: true, charge.Released: true,
	charge.Charged: true, charge.Folded: true, charge.Ended: true, charge.Renewing: true,
	charge.Closing: true, charge.Close: true, charge.Rollback: true, charge.Saved: true,
}

// checkEvent reports why an event cannot be applied at all, or nil. Whether a charge's
// user is in the team is checked for the whole batch at once (checkBatch).
func checkEvent(team string, e api.Event, cat catalogue, now time.Time) error {
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
		return errf(api.CodeBadRequest, "kind %q: want one of opened, denied, held, released, charged, folded, ended, renewing, closing, close, rollback, saved", e.Kind)
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
	if !cat.has(e.Product) {
		return errf(api.CodeNotFound, "product %q is not in the catalogue", e.Product)
	}
	if e.Kind != charge.Charged && e.Kind != charge.Saved {
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
	if e.Tokens < 1 && e.Kind == charge.Charged {
		return errf(api.CodeBadRequest, "a charge of %d tokens: want 1 to %d", e.Tokens, MaxRate)
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

// ingest applies a checked chunk of a device's events in a constant number of
// statements: one to record the events and learn which are new, one to read the
// windows their charges can meet, one each to write the charges and the movements, one
// to correct the answers stored with events that were not simply accepted, and then
// one per pack whose tokens changed. What each charge does is charge.Take's to decide.
func (p *pool) ingest(ctx context.Context, device string, events []api.Event, cat catalogue) ([]api.Result, error) {
	out := make([]api.Result, len(events))
	rows := newTable(column{"device", text}, column{"id", text}, column{"team", text}, column{"kind", text},
		column{"user_id", text}, column{"product", text}, column{"happened", bigint}, column{"key_start", bigint},
		column{"tokens", bigint}, column{"use_ns", bigint}, column{"reason", text}, column{"status", text},
		column{"code", text}, column{"message", text}, column{"received", bigint})
	first := map[string]bool{}
	for i, e := range events {
		out[i] = api.Result{ID: e.ID, Status: api.Accepted}
		if first[e.ID] {
			continue // the same event twice in one batch: the first stands
		}
		first[e.ID] = true
		var start int64
		if e.Kind == charge.Charged || e.Kind == charge.Saved {
			start = ns(e.Key.Start)
		}
		rows.add(device, e.ID, p.Team, string(e.Kind), e.User, e.Product, ns(e.At), start, e.Tokens, int64(e.Use),
			string(e.Reason), api.Accepted, "", "", ns(p.now))
	}
	// Events are recorded as accepted; the answers that turn out otherwise are
	// corrected below, in the same transaction.
	fresh, err := p.record(ctx, rows)
	if err != nil {
		return nil, err
	}
	if err := p.firstUse(ctx, events, fresh); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var claims []int
	for i, e := range events {
		if !fresh[e.ID] || seen[e.ID] {
			out[i].Status, out[i].Message = api.Duplicate, "this event was received before"
			continue
		}
		seen[e.ID] = true
		if e.Kind == charge.Charged {
			claims = append(claims, i)
		}
	}
	book, err := p.book(ctx, events, claims)
	if err != nil {
		return nil, err
	}
	charges := newTable(column{"team", text}, column{"user_id", text}, column{"product", text}, column{"start", bigint},
		column{"tokens", bigint}, column{"device", text}, column{"event_id", text}, column{"renewal", boolean}, column{"received", bigint},
		column{"idle", text})
	// A close of an idle product saved a renewal: kept once per window not opened,
	// whichever device or retry tells it.
	saved := newTable(column{"team", text}, column{"user_id", text}, column{"product", text}, column{"start", bigint},
		column{"tokens", bigint}, column{"device", text}, column{"happened", bigint}, column{"received", bigint})
	moves := newMoves()
	latest := map[charge.Use][]any{} // of the charges taken: see latestCols
	for i, e := range events {
		if out[i].Status != api.Accepted {
			continue
		}
		hold := e.Hold
		if hold == "" {
			hold = e.HoldID()
		}
		key := holdKey(device, hold)
		switch e.Kind {
		case charge.Released:
			p.Release(key)
		case charge.Saved:
			k := e.Key
			saved.add(k.Team, k.User, k.Product, ns(k.Start.UTC()), e.Tokens, device, ns(e.At), ns(p.now))
		case charge.Charged:
			k := e.Key
			k.Start = k.Start.UTC()
			got := charge.Take(&p.Pool, book, charge.Claim{Key: k, Tokens: e.Tokens, Device: device, Hold: key,
				Rate: cat.rateAt(k.Product, k.Start), Overdraw: true}, p.now)
			r, err := result(e, k, got)
			if err != nil {
				return nil, err
			}
			out[i] = r
			if got.Verdict != charge.TakeAccepted {
				continue
			}
			idle := ""
			if e.Renewal && (e.Reason == charge.Idle || e.Reason == charge.StayedOpen) {
				idle = string(e.Reason)
			}
			charges.add(k.Team, k.User, k.Product, ns(k.Start), e.Tokens, device, e.ID, e.Renewal, ns(p.now), idle)
			if u := (charge.Use{User: k.User, Product: k.Product}); latest[u] == nil || ns(k.Start) > latest[u][0].(int64) {
				latest[u] = []any{ns(k.Start), e.Tokens, device}
			}
			for _, d := range got.Draws {
				moves.add(p, d.Pack, api.MoveDebit, -d.Tokens, 0, k.String())
			}
			if got.Debt != 0 {
				moves.add(p, "", api.MoveDebit, 0, got.Debt, k.String())
			}
			p.touch(k.User, k.Product)
		}
	}
	if len(charges.rows) > 0 {
		if _, err := charges.insert(ctx, p.t, "charges", ""); err != nil {
			return nil, fmt.Errorf("charges: %w", err)
		}
		if err := p.keepPerUse(ctx, "latest_windows", "excluded.start > latest_windows.start", latestCols, latest); err != nil {
			return nil, err
		}
	}
	if len(saved.rows) > 0 {
		if _, err := saved.insert(ctx, p.t, "idle_saved", "ON CONFLICT (team, user_id, product, start) DO NOTHING"); err != nil {
			return nil, fmt.Errorf("idle saved: %w", err)
		}
	}
	if err := moves.write(ctx, p.t); err != nil {
		return nil, err
	}
	if err := p.answer(ctx, device, events, out); err != nil {
		return nil, err
	}
	// The movements are written: the packs, holds and team row follow.
	return out, p.flush(ctx)
}

// firstUse moves each (user, product)'s first use earlier where one of the batch's new
// opened or charged events is earlier than what the ledger knew: the advisor reads it
// (migration 191). A batch whose pairs were all used before writes nothing there.
func (p *pool) firstUse(ctx context.Context, events []api.Event, fresh map[string]bool) error {
	first := map[charge.Use][]any{}
	for _, e := range events {
		if !fresh[e.ID] || (e.Kind != charge.Opened && e.Kind != charge.Charged) {
			continue
		}
		k := charge.Use{User: e.User, Product: e.Product}
		if r, ok := first[k]; !ok || ns(e.At) < r[0].(int64) {
			first[k] = []any{ns(e.At)}
		}
	}
	return p.keepPerUse(ctx, "first_use", "excluded.happened < first_use.happened", []column{{"happened", bigint}}, first)
}

// latestCols are latest_windows' columns besides its key: each user's latest window of
// each product, which the window query reads (migration 191).
var latestCols = []column{{"start", bigint}, {"tokens", bigint}, {"device", text}}

// keepPerUse upserts rows, one per user and product, into name: a table keyed (team,
// user_id, product) whose other columns are cols. A stored row is replaced only where
// better (an SQL condition on excluded and name) holds, so a retry or a late row changes
// nothing. One row per key per statement, as PostgreSQL's upsert asks, in key order.
func (p *pool) keepPerUse(ctx context.Context, name, better string, cols []column, rows map[charge.Use][]any) error {
	if len(rows) == 0 {
		return nil
	}
	t := newTable(append([]column{{"team", text}, {"user_id", text}, {"product", text}}, cols...)...)
	for _, k := range slices.SortedFunc(maps.Keys(rows), func(a, b charge.Use) int {
		return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Product, b.Product))
	}) {
		t.add(append([]any{p.Team, k.User, k.Product}, rows[k]...)...)
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c.name + " = excluded." + c.name
	}
	if _, err := t.insert(ctx, p.t, name, "ON CONFLICT (team, user_id, product) DO UPDATE SET "+strings.Join(set, ", ")+" WHERE "+better); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// record inserts the events that the ledger has not seen and reports which those are.
func (p *pool) record(ctx context.Context, rows *table) (map[string]bool, error) {
	fresh := map[string]bool{}
	if len(rows.rows) == 0 {
		return fresh, nil
	}
	rs, err := rows.insert(ctx, p.t, "events", "ON CONFLICT (device, id) DO NOTHING RETURNING id")
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		fresh[id] = true
	}
	return fresh, rs.Err()
}

// book reads the windows the claims can meet: each claim's user and product, within a
// day of the claims' starts.
func (p *pool) book(ctx context.Context, events []api.Event, claims []int) (*charge.Book, error) {
	b := charge.NewBook()
	if len(claims) == 0 {
		return b, nil
	}
	var users, products []string
	lo, hi := events[claims[0]].Key.Start, events[claims[0]].Key.Start
	for _, i := range claims {
		k := events[i].Key
		if !slices.Contains(users, k.User) {
			users = append(users, k.User)
		}
		if !slices.Contains(products, k.Product) {
			products = append(products, k.Product)
		}
		if k.Start.Before(lo) {
			lo = k.Start
		}
		if k.Start.After(hi) {
			hi = k.Start
		}
	}
	uc, ua := in(p.t.d, "user_id", users)
	pc, pa := in(p.t.d, "product", products)
	args := append([]any{p.Team, ns(lo.Add(-charge.Day)), ns(hi.Add(charge.Day))}, ua...)
	rows, err := p.t.query(ctx, `SELECT user_id, product, start, tokens, device FROM charges WHERE team = ? AND start > ? AND start < ? AND `+uc+` AND `+pc,
		append(args, pa...)...)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		w := charge.Window{Key: charge.Key{Team: p.Team}}
		var start int64
		if err := rows.Scan(&w.Key.User, &w.Key.Product, &start, &w.Tokens, &w.Device); err != nil {
			return nil, err
		}
		w.Key.Start = fromNS(start)
		b.Add(w)
	}
	return b, rows.Err()
}

// result is the answer to a charge event from what charge.Take decided.
func result(e api.Event, k charge.Key, got charge.Taken) (api.Result, error) {
	r := api.Result{ID: e.ID, Status: api.Accepted}
	switch got.Verdict {
	case charge.TakeAccepted:
		r.Window = &k
	case charge.TakeDuplicate:
		r.Status, r.Window, r.Message = api.Duplicate, &k, "this window was charged before; nothing debited again"
	case charge.TakeConflict:
		r.Status, r.Code = api.Refused, api.CodeConflict
		r.Message = fmt.Sprintf("window %s was charged %d tokens; this charge says %d and was not applied", k, got.Window.Tokens, e.Tokens)
	case charge.TakeWrongRate:
		r.Status, r.Code = api.Refused, api.CodeWrongRate
		r.Message = fmt.Sprintf("window %s costs %d tokens, the rate of %s when it started; this charge says %d and was not applied", k, got.Window.Tokens, k.Product, e.Tokens)
	case charge.TakeFolded:
		w := got.Window.Key
		r.Status, r.Window = api.Folded, &w
		r.Message = fmt.Sprintf("window %s, paid on another device, covers this charge; nothing debited", w)
	default:
		return r, fmt.Errorf("charge %s: %s: %w", k, got.Verdict, got.Err)
	}
	return r, nil
}

// answer corrects the stored answers of the events that were not simply accepted.
func (p *pool) answer(ctx context.Context, device string, events []api.Event, out []api.Result) error {
	fix := newTable(column{"id", text}, column{"status", text}, column{"code", text}, column{"message", text})
	stored := map[string]bool{}
	for i, r := range out {
		if r.Status == api.Accepted && r.Code == "" && r.Message == "" {
			continue
		}
		if r.Status == api.Duplicate && r.Window == nil {
			continue // a duplicate by event id: its row is the first one's
		}
		if !stored[events[i].ID] {
			stored[events[i].ID] = true
			fix.add(r.ID, r.Status, r.Code, r.Message)
		}
	}
	if len(fix.rows) == 0 {
		return nil
	}
	with, args := fix.with(p.t.d, "fix")
	_, err := p.t.exec(ctx, with+`UPDATE events SET status = fix.status, code = fix.code, message = fix.message FROM fix WHERE events.device = ? AND events.id = fix.id`,
		append(args, device)...)
	if err != nil {
		return fmt.Errorf("event answers: %w", err)
	}
	return nil
}

// catalogue is the products with their present rates and the history of their rates.
type catalogue struct {
	rates   map[string]int64
	history map[string][]rateSince // oldest first
}

type rateSince struct{ since, rate int64 }

// loadCatalogue reads the products and their rate history in one query.
func loadCatalogue(ctx context.Context, x tx) (catalogue, error) {
	c := catalogue{rates: map[string]int64{}, history: map[string][]rateSince{}}
	rows, err := x.query(ctx, `SELECT p.id, p.rate, COALESCE(r.since, 0), COALESCE(r.rate, 0)
		FROM products p LEFT JOIN product_rates r ON r.product = p.id ORDER BY p.id, r.since`)
	if err != nil {
		return c, fmt.Errorf("catalogue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var rate int64
		var h rateSince
		if err := rows.Scan(&id, &rate, &h.since, &h.rate); err != nil {
			return c, err
		}
		c.rates[id] = rate
		if h.rate > 0 {
			c.history[id] = append(c.history[id], h)
		}
	}
	return c, rows.Err()
}

func (c catalogue) has(product string) bool { _, ok := c.rates[product]; return ok }

// rateAt is the product's rate in force at t: the last change at or before t, or, for a
// time before its history begins, the first rate it had.
func (c catalogue) rateAt(product string, t time.Time) int64 {
	h := c.history[product]
	if len(h) == 0 {
		return c.rates[product]
	}
	at := ns(t)
	rate := h[0].rate
	for _, s := range h {
		if s.since > at {
			break
		}
		rate = s.rate
	}
	return rate
}
