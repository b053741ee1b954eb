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

// Snapshot is what the agent knows of its users' entitlements: from the ledger (next to
// come), or from a file for a workstation without one. As a file it is YAML or JSON:
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
	for i, u := range s.Users {
		if u.User == "" || u.Team == "" {
			return nil, fmt.Errorf("entitlement file %s: users[%d]: user and team are required", path, i)
		}
	}
	return &s, nil
}

// entitlements answers the meter from the snapshot less what this device spent since:
// holds it placed and charges it made that the snapshot cannot know of.
type entitlements struct {
	mu    sync.Mutex
	snap  *Snapshot
	spent map[string]int64 // team -> tokens
}

func newEntitlements(s *Snapshot) *entitlements {
	return &entitlements{snap: s, spent: map[string]int64{}}
}

func (x *entitlements) Entitlement(user string) charge.Entitlement {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.snap == nil {
		return charge.Entitlement{User: user}
	}
	for _, u := range x.snap.Users {
		if u.User == user {
			u.Rates = x.snap.Rates
			u.Available = x.snap.Available[u.Team] - x.spent[u.Team]
			u.AsOf = x.snap.AsOf
			return u
		}
	}
	// Unknown to the ledger: not assigned to any pool.
	return charge.Entitlement{User: user, Rates: x.snap.Rates, AsOf: x.snap.AsOf}
}

// replace swaps in a new snapshot; what was spent before it was taken is in it.
func (x *entitlements) replace(s *Snapshot, outbox []journal.Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.snap = s
	clear(x.spent)
	for _, e := range outbox {
		if !e.Effect.At.Before(s.AsOf) {
			x.count(e.Effect)
		}
	}
}

// apply counts what effects spend.
func (x *entitlements) apply(effs []charge.Effect) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, f := range effs {
		x.count(f)
	}
}

func (x *entitlements) count(f charge.Effect) {
	switch {
	case f.Kind == charge.Held:
		x.spent[f.Key.Team] += f.Tokens
	case f.Kind == charge.Released:
		x.spent[f.Key.Team] -= f.Tokens
	case f.Kind == charge.Charged && f.Renewal: // a grace charge was held already
		x.spent[f.Key.Team] += f.Tokens
	}
}

func (x *entitlements) asOf() time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.snap == nil {
		return time.Time{}
	}
	return x.snap.AsOf
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
