package charge

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Pack rules (rule 10).
const (
	MinPack = 100           // the smallest order
	MaxPack = 1_000_000_000 // a typo guard: no studio buys a billion tokens at once
	// Expiring is how far ahead tokens about to expire are reported.
	Expiring = 90 * Day
)

// Errors of the pool, for callers that answer them with a code.
var (
	ErrSmallOrder       = errors.New("order below the minimum pack")
	ErrPartialTransfer  = errors.New("packs move between teams only whole")
	ErrInsufficient     = errors.New("insufficient tokens")
	ErrUnknownPack      = errors.New("unknown pack")
	ErrPackExpiredOrder = errors.New("pack already expired")
)

// Pack is one purchase of tokens.
type Pack struct {
	ID     string    `json:"id"`
	Team   string    `json:"team"`
	Tokens int64     `json:"tokens"` // as bought
	Left   int64     `json:"left"`
	Bought time.Time `json:"bought"`
}

// NewPack checks an order and returns the pack it buys.
func NewPack(id, team string, tokens int64, bought time.Time) (Pack, error) {
	if tokens < MinPack {
		return Pack{}, fmt.Errorf("%w: %d tokens ordered, packs start at %d", ErrSmallOrder, tokens, MinPack)
	}
	if tokens > MaxPack {
		return Pack{}, fmt.Errorf("%d tokens ordered: a pack holds at most %d; split the order", tokens, MaxPack)
	}
	return Pack{ID: id, Team: team, Tokens: tokens, Left: tokens, Bought: bought}, nil
}

// Expires is the first instant the pack can no longer be used: one year after purchase,
// by the calendar (a pack bought 2025-11-01 is unusable from 2026-11-01; one bought on
// 29 February expires on 1 March).
func (p Pack) Expires() time.Time { return p.Bought.AddDate(1, 0, 0) }

// Live reports whether the pack's tokens can be drawn at t.
func (p Pack) Live(t time.Time) bool { return t.Before(p.Expires()) }

// drawOrder sorts packs in the order tokens are drawn: the one expiring first, the
// smallest first among equals, then by id so the order is total.
func drawOrder(a, b Pack) int { return drawAfter(a, b, a.Expires().Compare(b.Expires())) }

// drawIndex is drawOrder over indices of Packs, with the cached expiries.
func (p *Pool) drawIndex(exp []expiry) func(i, j int) int {
	return func(i, j int) int { return drawAfter(p.Packs[i], p.Packs[j], exp[i].at.Compare(exp[j].at)) }
}

// drawAfter is drawOrder given the comparison of the expiries.
func drawAfter(a, b Pack, c int) int {
	if c != 0 {
		return c
	}
	if a.Left != b.Left {
		if a.Left < b.Left {
			return -1
		}
		return 1
	}
	if a.ID < b.ID {
		return -1
	}
	if a.ID > b.ID {
		return 1
	}
	return 0
}

// Draw is tokens taken from one pack.
type Draw struct {
	Pack   string `json:"pack"`
	Tokens int64  `json:"tokens"`
}

// Forfeit is what was left in a pack when it expired.
type Forfeit struct {
	Pack   string    `json:"pack"`
	Team   string    `json:"team"`
	Tokens int64     `json:"tokens"`
	At     time.Time `json:"at"` // when it was forfeited: the expiry, or later for tokens kept back for a hold
}

// Threshold is when a team counts as low on tokens: Absolute when set, else Percent of
// the tokens bought in its unexpired packs (20 when zero).
type Threshold struct {
	Absolute int64 `json:"absolute,omitempty" yaml:"absolute"`
	Percent  int64 `json:"percent,omitempty" yaml:"percent"`
}

// AlertKind names a low-balance notice.
type AlertKind string

const (
	AlertLow   AlertKind = "low_balance"
	AlertEmpty AlertKind = "empty"
)

// Alert is a notice to the team's admins (rule 11).
type Alert struct {
	Kind      AlertKind `json:"kind"`
	Team      string    `json:"team"`
	Available int64     `json:"available"`
	Threshold int64     `json:"threshold"`
	At        time.Time `json:"at"`
}

// Pool is a team's tokens: its packs, the holds on them and any overdraft. Methods take
// the time they act at; a Pool is not safe for concurrent use.
type Pool struct {
	Team      string           `json:"team"`
	Packs     []Pack           `json:"packs"`
	Holds     map[string]int64 `json:"holds,omitempty"`
	Debt      int64            `json:"debt,omitempty"` // overdrawn by renewals, paid by the next pack
	Threshold Threshold        `json:"threshold"`

	// Alert state: set once per crossing, cleared when the balance is back above.
	Low   bool `json:"low,omitempty"`
	Empty bool `json:"empty,omitempty"`

	exp []expiry // Packs' expiries, see expiries
}

// expiry is a pack's expiry, cached with the purchase time it was computed from.
type expiry struct{ bought, at time.Time }

// expiries returns each pack's expiry, computed once per pack: the calendar arithmetic
// costs more than the rest of a balance, which a launch computes over every pack. Callers
// change Packs directly, so every entry is checked against its pack's purchase time and
// a changed list gets a new slice; the old one is never written, as a copy of the Pool
// may share it.
func (p *Pool) expiries() []expiry {
	if len(p.exp) == len(p.Packs) && p.fresh() {
		return p.exp
	}
	old := p.exp
	exp := make([]expiry, len(p.Packs))
	j := 0
	for i, k := range p.Packs {
		// Packs are appended and deleted, so an entry is found where it was or a little after.
		for j < len(old) && old[j].bought != k.Bought && j+1 < len(old) && old[j+1].bought == k.Bought {
			j++
		}
		if j < len(old) && old[j].bought == k.Bought {
			exp[i] = old[j]
			j++
			continue
		}
		exp[i] = expiry{bought: k.Bought, at: k.Expires()}
	}
	p.exp = exp
	return exp
}

func (p *Pool) fresh() bool {
	for i, k := range p.Packs {
		if p.exp[i].bought != k.Bought {
			return false
		}
	}
	return true
}

// Unexpired is the tokens left in packs live at t.
func (p *Pool) Unexpired(t time.Time) int64 {
	var n int64
	exp := p.expiries()
	for i, k := range p.Packs {
		if t.Before(exp[i].at) {
			n += k.Left
		}
	}
	return n
}

// Held is the tokens set aside for sessions in grace.
func (p *Pool) Held() int64 {
	var n int64
	for _, h := range p.Holds {
		n += h
	}
	return n
}

// Available is what a new launch can count on: unexpired tokens less holds and debt.
// Tokens of an expired pack still count as far as they back holds placed before it
// expired (see Expire). It goes negative only through overdrawn renewals.
func (p *Pool) Available(t time.Time) int64 {
	var live, expired int64
	exp := p.expiries()
	for i, k := range p.Packs {
		if k.Left == 0 {
			continue
		}
		if t.Before(exp[i].at) {
			live += k.Left
		} else {
			expired += k.Left
		}
	}
	held := p.Held()
	return live + min(expired, held) - held - p.Debt
}

// Bought is the tokens bought in packs live at t, the base of the percent threshold.
func (p *Pool) Bought(t time.Time) int64 {
	var n int64
	exp := p.expiries()
	for i, k := range p.Packs {
		if t.Before(exp[i].at) {
			n += k.Tokens
		}
	}
	return n
}

// Limit is the low-balance threshold in tokens at t.
func (p *Pool) Limit(t time.Time) int64 {
	if p.Threshold.Absolute > 0 {
		return p.Threshold.Absolute
	}
	pct := p.Threshold.Percent
	if pct == 0 {
		pct = 20
	}
	return p.Bought(t) * pct / 100
}

// Add puts a pack into the pool at t; a live pack pays any debt first.
func (p *Pool) Add(k Pack, t time.Time) {
	k.Team = p.Team
	if p.Debt > 0 && k.Left > 0 && k.Live(t) {
		n := min(p.Debt, k.Left)
		k.Left -= n
		p.Debt -= n
	}
	p.Packs = append(p.Packs, k)
}

// Take removes a whole pack for a transfer to another team. A partial move is refused:
// tokens must equal what is left, or be zero for "all of it".
func (p *Pool) Take(id string, tokens int64, t time.Time) (Pack, error) {
	i := slices.IndexFunc(p.Packs, func(k Pack) bool { return k.ID == id })
	if i < 0 {
		return Pack{}, fmt.Errorf("%w %q in team %q", ErrUnknownPack, id, p.Team)
	}
	k := p.Packs[i]
	if !k.Live(t) {
		return Pack{}, fmt.Errorf("pack %q expired on %s: %w", id, k.Expires().Format(time.DateOnly), ErrPackExpiredOrder)
	}
	if tokens != 0 && tokens != k.Left {
		return Pack{}, fmt.Errorf("%w: pack %q has %d tokens left; move the whole pack, not %d", ErrPartialTransfer, id, k.Left, tokens)
	}
	p.Packs = slices.Delete(p.Packs, i, i+1)
	return k, nil
}

// Hold sets n tokens aside under id. Holding the same id again replaces the earlier hold,
// so a retried request does not hold twice.
func (p *Pool) Hold(id string, n int64) {
	if p.Holds == nil {
		p.Holds = make(map[string]int64)
	}
	p.Holds[id] = n
}

// Release frees a hold; releasing an unknown or released hold does nothing.
func (p *Pool) Release(id string) { delete(p.Holds, id) }

// Debit takes n tokens at t, consuming hold id if there is one. Tokens come from the pack
// expiring first. When the pool is short, overdraw decides: true records the shortfall as
// debt, false refuses and changes nothing.
func (p *Pool) Debit(t time.Time, n int64, hold string, overdraw bool) ([]Draw, error) {
	held := p.Holds[hold]
	if avail := p.Available(t) + held; avail < n && !overdraw {
		return nil, fmt.Errorf("%w: %d needed, %d available", ErrInsufficient, n, avail)
	}
	delete(p.Holds, hold)
	exp := p.expiries()
	idx := make([]int, 0, len(p.Packs))
	for i, k := range p.Packs {
		if k.Left > 0 && (t.Before(exp[i].at) || held > 0) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, p.drawIndex(exp))
	var draws []Draw
	rest := n
	expired := min(held, n) // what an expired pack may still give: only what it backed a hold with
	for _, i := range idx {
		if rest == 0 {
			break
		}
		take := min(rest, p.Packs[i].Left)
		if !t.Before(exp[i].at) {
			take = min(take, expired)
			expired -= take
		}
		if take == 0 {
			continue
		}
		p.Packs[i].Left -= take
		rest -= take
		draws = append(draws, Draw{Pack: p.Packs[i].ID, Tokens: take})
	}
	p.Debt += rest
	return draws, nil
}

// NextExpiry is the earliest expiry after t of a pack that still holds tokens.
func (p *Pool) NextExpiry(t time.Time) (time.Time, bool) {
	var next time.Time
	for i, k := range p.Packs {
		if at := p.expiries()[i].at; k.Left > 0 && at.After(t) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next, !next.IsZero()
}

// Expire forfeits what is left in every pack expired by t. Forfeited tokens are never
// rolled over. Tokens set aside by holds placed while a pack was live are kept back as
// long as the live packs cannot back those holds, so that a session whose grace runs
// past its pack's expiry is paid from that pack rather than overdrawing; call Expire
// again after holds are released and what was kept back is forfeited then.
func (p *Pool) Expire(t time.Time) []Forfeit {
	need := p.Held() - p.Unexpired(t)
	exp := p.expiries()
	idx := make([]int, 0, len(p.Packs))
	for i, k := range p.Packs {
		if !t.Before(exp[i].at) && k.Left > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, p.drawIndex(exp))
	var out []Forfeit
	for _, i := range idx {
		k := &p.Packs[i]
		keep := min(max(need, 0), k.Left)
		need -= keep
		if lost := k.Left - keep; lost > 0 {
			out = append(out, Forfeit{Pack: k.ID, Team: p.Team, Tokens: lost, At: t})
			k.Left = keep
		}
	}
	return out
}

// ExpiringWithin lists the live packs at t that expire within d and still hold tokens.
func (p *Pool) ExpiringWithin(t time.Time, d time.Duration) []Pack {
	var out []Pack
	for _, k := range p.Packs {
		if k.Live(t) && k.Left > 0 && k.Expires().Before(t.Add(d)) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, drawOrder)
	return out
}

// Alerts returns the notices due at t: low balance once per crossing below the limit,
// and once more at zero. Call it after every change to the pool.
func (p *Pool) Alerts(t time.Time) []Alert {
	avail, limit := p.Available(t), p.Limit(t)
	var out []Alert
	switch {
	case avail < limit && !p.Low:
		p.Low = true
		out = append(out, Alert{Kind: AlertLow, Team: p.Team, Available: avail, Threshold: limit, At: t})
	case avail >= limit:
		p.Low = false
	}
	switch {
	case avail <= 0 && !p.Empty:
		p.Empty = true
		out = append(out, Alert{Kind: AlertEmpty, Team: p.Team, Available: avail, Threshold: limit, At: t})
	case avail > 0:
		p.Empty = false
	}
	return out
}
