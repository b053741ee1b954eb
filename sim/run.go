package sim

import (
	"fmt"
	"slices"
	"time"

	"tollgate/charge"
)

// Result is everything a simulation decided, in time order, and its totals.
type Result struct {
	Lines   []Line           `json:"lines"`
	Charges []Charge         `json:"charges"`
	Users   map[string]int64 `json:"tokens_per_user"`
	Prods   map[string]int64 `json:"tokens_per_product"`
	Teams   []Balance        `json:"teams"`
	Running []charge.Session `json:"still_running,omitempty"`
}

// Line is one thing that happened, as a person would read it.
type Line struct {
	At      time.Time `json:"at"`
	Device  string    `json:"device,omitempty"`
	User    string    `json:"user,omitempty"`
	Product string    `json:"product,omitempty"`
	Kind    string    `json:"kind"`
	Tokens  int64     `json:"tokens,omitempty"`
	Text    string    `json:"text"`
}

// Charge is a charge as the ledger took it.
type Charge struct {
	Key     charge.Key `json:"key"`
	Device  string     `json:"device"`
	Tokens  int64      `json:"tokens"`
	Renewal bool       `json:"renewal,omitempty"`
	Status  string     `json:"status"` // accepted, duplicate, folded, refused
	At      time.Time  `json:"at"`     // when the ledger took it
	Debited int64      `json:"debited"`
}

// Balance is a team's pool at the end of the timeline.
type Balance struct {
	Team      string        `json:"team"`
	Spent     int64         `json:"spent"`
	Available int64         `json:"available"`
	Unexpired int64         `json:"unexpired"`
	Debt      int64         `json:"debt,omitempty"`
	Forfeited int64         `json:"forfeited,omitempty"`
	Expiring  []charge.Pack `json:"expiring_within_90_days,omitempty"`
}

type pu struct{ user, product string }

type hold struct {
	team   string
	tokens int64
}

type device struct {
	name     string
	meter    *charge.Meter
	skew     time.Duration // how far the device's own clock is off
	offset   time.Duration // the correction to ledger time it last saw (-skew while online)
	slept    time.Duration
	asleep   bool
	sleepAt  time.Time
	offline  bool
	snap     map[string]charge.Entitlement
	spent    map[string]int64 // team -> tokens spent or held offline since the snapshot
	held     map[string]hold  // holds placed while offline, by hold id
	queue    []charge.Effect
	lastTrue time.Time
	procs    map[pu][]string
	closed   map[pu]int // processes closed by the agent whose end is still to come in the timeline
	seq      int
}

type engine struct {
	tl      *Timeline
	epoch   time.Time
	now     time.Time
	rates   map[string]int64
	users   map[string]User
	teams   map[string]Team
	pools   map[string]*charge.Pool
	keys    map[charge.Key]charge.Window
	windows map[pu][]charge.Window
	devices map[string]*device
	res     *Result
	forfeit map[string]int64
	spent   map[string]int64
}

// Run replays the timeline and returns what it cost.
func Run(tl *Timeline) (*Result, error) {
	e := &engine{
		tl: tl, rates: map[string]int64{}, users: map[string]User{}, teams: map[string]Team{},
		pools: map[string]*charge.Pool{}, keys: map[charge.Key]charge.Window{}, windows: map[pu][]charge.Window{},
		devices: map[string]*device{}, forfeit: map[string]int64{}, spent: map[string]int64{},
		res: &Result{Users: map[string]int64{}, Prods: map[string]int64{}},
	}
	e.epoch = tl.Events[0].At.Time
	e.now = e.epoch
	for _, p := range tl.Products {
		e.rates[p.ID] = p.Rate
	}
	for _, t := range tl.Teams {
		e.teams[t.ID] = t
		e.pools[t.ID] = &charge.Pool{Team: t.ID, Threshold: t.Threshold}
	}
	for _, u := range tl.Users {
		e.users[u.ID] = u
	}
	for _, p := range tl.Packs {
		k, _ := charge.NewPack(p.ID, p.Team, p.Tokens, p.Bought.Time) // checked by Parse
		if p.Left != nil {
			k.Left = *p.Left
		}
		e.pools[p.Team].Add(k, e.now)
	}
	for _, pool := range e.sortedPools() {
		e.expire(pool)     // packs that expired before the timeline began
		pool.Alerts(e.now) // the state at the start is not news
	}
	for _, ev := range tl.Events {
		if err := e.until(ev.At.Time); err != nil {
			return nil, err
		}
		e.now = ev.At.Time
		if err := e.apply(ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", ev.line, err)
		}
	}
	// Let sessions whose last process ended settle their merge gap.
	if err := e.until(e.now.Add(charge.MergeGap + time.Nanosecond)); err != nil {
		return nil, err
	}
	e.totals()
	return e.res, nil
}

func (e *engine) device(name string) *device {
	d, ok := e.devices[name]
	if !ok {
		d = &device{name: name, meter: charge.NewMeter(name, e.policy()), procs: map[pu][]string{}, closed: map[pu]int{},
			spent: map[string]int64{}, held: map[string]hold{}, lastTrue: e.now}
		e.devices[name] = d
		// The meter's high-water mark starts with the device, before anything moves its clock.
		d.meter.Advance(e.reading(d, e.now), e.ents(d))
	}
	return d
}

func (e *engine) policy() charge.Policy {
	return charge.Policy{
		OfflineMaxAge:    time.Duration(e.tl.Policy.OfflineMaxAge),
		RenewalWhenEmpty: e.tl.Policy.RenewalWhenEmpty,
		CloseAfter:       time.Duration(e.tl.Policy.CloseAfter),
	}
}

// reading is what device d's clocks say at true time t.
func (e *engine) reading(d *device, t time.Time) charge.Reading {
	mono := t.Sub(e.epoch) - d.slept
	if d.asleep {
		mono = d.sleepAt.Sub(e.epoch) - d.slept
	}
	d.lastTrue = t
	if !d.offline {
		d.offset = -d.skew // online, the agent knows the ledger's time
	}
	return charge.Reading{Wall: t.Add(d.skew + d.offset), Mono: mono}
}

// until fires every deadline of every device, and every pack expiry, before t, in time
// order across devices.
func (e *engine) until(t time.Time) error {
	for range 10_000_000 {
		var next time.Time
		var who *device
		var pool *charge.Pool
		found := false
		for _, d := range e.sortedDevices() {
			n, ok := d.meter.Next()
			if !ok || d.asleep {
				continue
			}
			at := d.lastTrue.Add(n.Sub(d.meter.Now()))
			if at.Before(d.lastTrue) {
				at = d.lastTrue
			}
			if at.Before(t) && (!found || at.Before(next)) {
				next, who, found = at, d, true
			}
		}
		for _, p := range e.sortedPools() {
			if x, ok := p.NextExpiry(e.now); ok && !x.After(t) && (!found || x.Before(next)) {
				next, who, pool, found = x, nil, p, true
			}
		}
		if !found {
			return nil
		}
		if next.After(e.now) {
			e.now = next
		}
		if pool != nil {
			e.expire(pool)
			continue
		}
		e.effects(who, who.meter.Advance(e.reading(who, e.now), e.ents(who)))
	}
	return fmt.Errorf("simulation did not settle before %s: a deadline repeats without progress", t.Format(time.RFC3339))
}

func (e *engine) expire(p *charge.Pool) {
	for _, f := range p.Expire(e.now) {
		e.forfeit[p.Team] += f.Tokens
		e.line(Line{At: f.At, Kind: "forfeited", Tokens: f.Tokens,
			Text: fmt.Sprintf("pack %s of team %s expired with %d tokens unused: forfeited", f.Pack, f.Team, f.Tokens)})
	}
	e.alerts(p)
}

func (e *engine) apply(ev Event) error {
	switch {
	case ev.Buy != nil:
		k, err := charge.NewPack(ev.Buy.ID, ev.Buy.Team, ev.Buy.Tokens, ev.At.Time)
		if err != nil {
			e.line(Line{At: e.now, Kind: "refused", Text: fmt.Sprintf("team %s's order of pack %s refused: %v", ev.Buy.Team, ev.Buy.ID, err)})
			return nil
		}
		if !ev.Buy.Bought.IsZero() {
			k.Bought = ev.Buy.Bought.Time
		}
		p := e.pools[k.Team]
		p.Add(k, e.now)
		e.line(Line{At: e.now, Kind: "bought", Tokens: k.Tokens, Text: fmt.Sprintf("team %s bought pack %s: %d tokens, expiring on %s", k.Team, k.ID, k.Tokens, k.Expires().Format(time.DateOnly))})
		e.alerts(p)
		return nil
	case ev.Transfer != nil:
		return e.transfer(*ev.Transfer)
	}
	d := e.device(ev.Device)
	switch {
	case ev.Start != "":
		d.seq++
		id := ev.Proc
		if id == "" {
			id = fmt.Sprintf("%s#%d", ev.Start, d.seq)
		}
		k := pu{ev.User, ev.Start}
		dec, effs := d.meter.Start(e.reading(d, e.now), charge.Proc{ID: id, User: ev.User, Product: ev.Start}, e.ents(d))
		if dec.Allowed {
			d.procs[k] = append(d.procs[k], id)
		}
		e.effects(d, effs)
		if !dec.Allowed {
			d.closed[k]++
			e.effects(d, d.meter.Exit(e.reading(d, e.now), id, e.ents(d)))
		}
	case ev.End != "":
		k := pu{ev.User, ev.End}
		ids := d.procs[k]
		i := 0
		if ev.Proc != "" {
			i = slices.Index(ids, ev.Proc)
		}
		if (len(ids) == 0 || i < 0) && d.closed[k] > 0 {
			d.closed[k]-- // the agent closed it already: a recorded timeline still says when the user would have
			return nil
		}
		if len(ids) == 0 || i < 0 {
			return fmt.Errorf("end: no running process of %s for %s on %s; add its start before this line", ev.End, ev.User, d.name)
		}
		id := ids[i]
		d.procs[k] = slices.Delete(ids, i, i+1)
		e.effects(d, d.meter.Exit(e.reading(d, e.now), id, e.ents(d)))
	case ev.Offline:
		if !d.offline {
			d.offline = true
			d.snap = map[string]charge.Entitlement{}
			for id := range e.users {
				d.snap[id] = e.entitlement(id)
			}
			d.spent = map[string]int64{}
			e.line(Line{At: e.now, Device: d.name, Kind: "offline", Text: fmt.Sprintf("%s lost the ledger: deciding from its snapshot", d.name)})
		}
	case ev.Online:
		if d.offline {
			e.online(d)
		}
	case ev.Sleep:
		e.effects(d, d.meter.Sleep(e.reading(d, e.now), e.ents(d)))
		if !d.asleep {
			d.asleep, d.sleepAt = true, e.now
		}
		e.line(Line{At: e.now, Device: d.name, Kind: "sleep", Text: d.name + " went to sleep"})
	case ev.Wake:
		if d.asleep {
			d.asleep = false
			d.slept += e.now.Sub(d.sleepAt)
		}
		e.line(Line{At: e.now, Device: d.name, Kind: "wake", Text: d.name + " woke up"})
		e.effects(d, d.meter.Wake(e.reading(d, e.now), e.ents(d)))
	case ev.Clock != nil:
		from := e.now.Add(d.skew)
		d.skew += time.Duration(*ev.Clock)
		e.line(Line{At: e.now, Device: d.name, Kind: "clock", Text: fmt.Sprintf("%s's clock moved by %s", d.name, time.Duration(*ev.Clock))})
		effs := d.meter.Advance(e.reading(d, e.now), e.ents(d))
		// Online, the device keeps the ledger's time and its meter sees nothing go back;
		// the agent still flags its own clock set back, as it does offline.
		if time.Duration(*ev.Clock) < -time.Second && !slices.ContainsFunc(effs, func(f charge.Effect) bool { return f.Kind == charge.Rollback }) {
			effs = append(effs, charge.Effect{Kind: charge.Rollback, At: d.meter.Now(), Device: d.name, From: from, Until: e.now.Add(d.skew)})
		}
		e.effects(d, effs)
	}
	return nil
}

func (e *engine) transfer(m Move) error {
	var from *charge.Pool
	for _, p := range e.sortedPools() {
		if slices.ContainsFunc(p.Packs, func(k charge.Pack) bool { return k.ID == m.Pack }) {
			from = p
		}
	}
	if from == nil {
		return fmt.Errorf("transfer: pack %q is not in any team", m.Pack)
	}
	k, err := from.Take(m.Pack, m.Tokens, e.now)
	if err != nil {
		e.line(Line{At: e.now, Kind: "refused", Text: "transfer refused: " + err.Error()})
		return nil
	}
	to := e.pools[m.To]
	to.Add(k, e.now)
	e.line(Line{At: e.now, Kind: "transferred", Tokens: k.Left, Text: fmt.Sprintf("pack %s moved from team %s to team %s with its %d tokens left", k.ID, from.Team, m.To, k.Left)})
	e.alerts(from)
	e.alerts(to)
	return nil
}

// online drains what a device journaled while offline, as the agent's sync loop does.
func (e *engine) online(d *device) {
	d.offline = false
	e.line(Line{At: e.now, Device: d.name, Kind: "online", Text: fmt.Sprintf("%s reached the ledger: syncing what it journaled offline (%d charges)", d.name, len(d.queue))})
	q := d.queue
	d.queue = nil
	for _, f := range q {
		e.take(d, f, true)
	}
	for id, h := range d.held {
		e.pools[h.team].Hold(id, h.tokens)
	}
	for _, p := range e.sortedPools() {
		e.alerts(p)
	}
}
