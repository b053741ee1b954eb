package agent

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"tollgate/agent/journal"
	"tollgate/charge"
)

// Snapshot is an entitlement file, for a workstation without a ledger (a demo, a test).
// It is YAML or JSON:
//
//	as_of: 2026-11-02T08:00:00Z        # when it was true; default the file's modification time
//	rates: {revit: 10, autocad: 7}
//	available: {studio: 120}           # each team's available balance
//	users:
//	  - {user: mary@studio.example, team: studio, assigned: true,
//	     subscriptions: [{product: autocad, from: 2026-01-01T00:00:00Z}]}
type Snapshot struct {
	AsOf      time.Time            `json:"as_of" yaml:"as_of"`
	Rates     map[string]int64     `json:"rates" yaml:"rates"`
	Available map[string]int64     `json:"available" yaml:"available"`
	Users     []charge.Entitlement `json:"users" yaml:"users"`
}

// LoadSnapshot reads a snapshot file strictly.
func LoadSnapshot(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Snapshot
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("entitlement file %s: %w", path, err)
	}
	if s.AsOf.IsZero() {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		s.AsOf = fi.ModTime().UTC()
	}
	if err := charge.CheckTime("as_of", s.AsOf); err != nil {
		return nil, fmt.Errorf("entitlement file %s: %w", path, err)
	}
	for i, u := range s.Users {
		if u.User == "" || u.Team == "" {
			return nil, fmt.Errorf("entitlement file %s: users[%d]: user and team are required", path, i)
		}
		for j, sub := range u.Subscriptions {
			for what, t := range map[string]time.Time{"from": sub.From, "until": sub.Until} {
				if err := charge.CheckTime(what, t); !t.IsZero() && err != nil {
					return nil, fmt.Errorf("entitlement file %s: users[%d]: subscriptions[%d]: %w", path, i, j, err)
				}
			}
		}
	}
	return &s, nil
}

// entitlements answers the meter: each user's last snapshot (from the ledger or a file)
// less what this device spent that the snapshot cannot know of, namely effects not yet
// answered by the ledger and effects answered after the snapshot was taken.
type entitlements struct {
	mu       sync.Mutex
	users    map[string]charge.Entitlement
	rates    map[string]int64
	file     bool // snapshots come from a file: nothing is ever answered; effects count from its as_of
	spend    []spent
	override map[string]charge.Entitlement // the ledger's fresh answer for a launch being decided
}

// spent is what one journaled effect does to its team's balance.
type spent struct {
	id       string // the outbox entry
	team     string
	user     string
	product  string
	tokens   int64
	at       time.Time // when it happened
	answered time.Time // ledger time the ledger took it; zero while unsent
}

func newEntitlements(file bool, rates map[string]int64) *entitlements {
	return &entitlements{users: map[string]charge.Entitlement{}, rates: rates, file: file, override: map[string]charge.Entitlement{}}
}

func (x *entitlements) Entitlement(user string) charge.Entitlement {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.override[user]
	if !ok {
		e, ok = x.users[user]
	}
	if !ok {
		// Never heard of: as good as offline since forever, unless a file says otherwise.
		return charge.Entitlement{User: user, Assigned: !x.file, Rates: x.rates}
	}
	for _, s := range x.spend {
		if s.team == e.Team && x.counts(s, e.AsOf) {
			e.Available -= s.tokens
			// The caps count this device's spending too, so that a device offline
			// respects them (rule 13).
			e.Budgets = charge.Spend(e.Budgets, s.user, s.product, s.tokens, s.at)
		}
	}
	return e
}

// counts reports whether a snapshot taken at asOf lacks s.
func (x *entitlements) counts(s spent, asOf time.Time) bool {
	if x.file {
		return !s.at.Before(asOf)
	}
	return s.answered.IsZero() || s.answered.After(asOf)
}

// put keeps a user's snapshot.
func (x *entitlements) put(e charge.Entitlement) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.users[e.User] = e
	if len(e.Rates) > 0 {
		x.rates = e.Rates
	}
	x.prune()
}

// loadFile replaces every snapshot with a file's.
func (x *entitlements) loadFile(s *Snapshot) {
	x.mu.Lock()
	defer x.mu.Unlock()
	clear(x.users)
	x.rates = s.Rates
	for _, u := range s.Users {
		u.Rates, u.Available, u.AsOf = s.Rates, s.Available[u.Team], s.AsOf
		x.users[u.User] = u
	}
}

// setOverride makes the next answers for user the ledger's fresh decision, for the launch
// being decided; clearOverride ends that.
func (x *entitlements) setOverride(e charge.Entitlement) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.override[e.User] = e
}

func (x *entitlements) clearOverride(user string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.override, user)
}

// apply counts what journaled effects spend; ids are their outbox entries.
func (x *entitlements) apply(effs []charge.Effect, ids []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, f := range effs {
		if n := tokensOf(f); n != 0 {
			x.spend = append(x.spend, spent{id: ids[i], team: f.Key.Team, user: f.Key.User, product: f.Key.Product, tokens: n, at: f.At})
		}
	}
}

// tokensOf is what an effect takes from its team's available balance.
func tokensOf(f charge.Effect) int64 {
	switch {
	case f.Kind == charge.Held:
		return f.Tokens
	case f.Kind == charge.Released:
		return -f.Tokens
	case f.Kind == charge.Charged && f.Renewal: // a grace charge was held already
		return f.Tokens
	}
	return 0
}

// answered records the ledger taking entries at ledger time at.
func (x *entitlements) answered(ids []string, at time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	for i := range x.spend {
		if set[x.spend[i].id] && x.spend[i].answered.IsZero() {
			x.spend[i].answered = at
		}
	}
	x.prune()
}

// prune forgets spending that every snapshot of its team already includes.
func (x *entitlements) prune() {
	if x.file {
		return
	}
	oldest := map[string]time.Time{}
	for _, e := range x.users {
		if o, ok := oldest[e.Team]; !ok || e.AsOf.Before(o) {
			oldest[e.Team] = e.AsOf
		}
	}
	keep := x.spend[:0]
	for _, s := range x.spend {
		if o, ok := oldest[s.team]; !ok || x.counts(s, o) {
			keep = append(keep, s)
		}
	}
	x.spend = keep
}

// restore rebuilds the spending from the outbox after a restart.
func (x *entitlements) restore(entries []journal.Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.spend = x.spend[:0]
	for _, e := range entries {
		if n := tokensOf(e.Effect); n != 0 {
			s := spent{id: e.ID, team: e.Effect.Key.Team, user: e.Effect.Key.User, product: e.Effect.Key.Product, tokens: n, at: e.Effect.At}
			if e.Sent {
				s.answered = e.AnsweredAt
			}
			x.spend = append(x.spend, s)
		}
	}
}

// asOf is when the ledger (or the file) last told the agent about user.
func (x *entitlements) asOf(user string) time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.users[user].AsOf
}

// known lists the users with a snapshot, for refreshing.
func (x *entitlements) known() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.users))
	for u := range x.users {
		out = append(out, u)
	}
	return out
}

// recorder remembers every answer given to the meter, so the journal can replay them.
type recorder struct {
	src     charge.Entitlements
	answers []charge.Entitlement
}

func (r *recorder) Entitlement(user string) charge.Entitlement {
	e := r.src.Entitlement(user)
	r.answers = append(r.answers, e)
	return e
}

// replayer gives back recorded answers in order.
type replayer struct {
	answers []charge.Entitlement
	short   bool
}

func (r *replayer) Entitlement(user string) charge.Entitlement {
	if len(r.answers) == 0 {
		r.short = true
		return charge.Entitlement{User: user}
	}
	e := r.answers[0]
	r.answers = r.answers[1:]
	return e
}
