package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"tollgate/ledger/api"

	"tollgate/charge"
)

// Result is everything a simulation decided, in time order, and its totals. Lists are
// never null and counts are never left out, so that a script reading the JSON sees 0 and
// [] rather than nothing.
type Result struct {
	Start   []Balance        `json:"start"` // each team's pool as the timeline starts
	Lines   []Line           `json:"lines"`
	Charges []Charge         `json:"charges"`
	Users   map[string]int64 `json:"tokens_per_user"`
	Prods   map[string]int64 `json:"tokens_per_product"`
	Teams   []Balance        `json:"teams"`
	Running []Running        `json:"still_running"`
	// Advice is the ledger's advisor on the last 90 days, at the last event: per user and
	// product, keep on tokens, move to a subscription, or too early to tell.
	Advice []api.Advice `json:"advice"`
	// Idle is what products nobody used cost and what closing them saved (rule 4,
	// renewal_when_idle).
	Idle Idle `json:"idle,omitzero"`
}

// Idle totals renewals of products nobody used, and renewals saved by closing them.
type Idle struct {
	Renewals int64 `json:"renewals"`
	Spent    int64 `json:"tokens_spent"`
	Closes   int64 `json:"closes"`
	Saved    int64 `json:"tokens_saved"`
}

// Line is one thing that happened, as a person would read it.
type Line struct {
	At      time.Time `json:"at"`
	Device  string    `json:"device,omitempty"`
	User    string    `json:"user,omitempty"`
	Product string    `json:"product,omitempty"`
	Kind    string    `json:"kind"`
	Reason  string    `json:"reason,omitempty"` // denied, close, refused: a code from a closed set (docs/simulate.md)
	Tokens  int64     `json:"tokens"`
	Text    string    `json:"text"`
	Report  *Report   `json:"report,omitempty"` // report: where things stand
	// Details are further lines of text under Text (a report's balances and windows).
	Details []string `json:"-"`
}

// Charge is a charge as the ledger took it.
type Charge struct {
	Key     charge.Key    `json:"key"`
	Device  string        `json:"device"`
	Tokens  int64         `json:"tokens"`
	Renewal bool          `json:"renewal"`
	Status  string        `json:"status"`           // accepted, duplicate, folded, refused
	Reason  string        `json:"reason,omitempty"` // refused: insufficient_tokens or tokens_differ
	At      time.Time     `json:"at"`               // when the ledger took it
	Debited int64         `json:"debited"`
	Draws   []charge.Draw `json:"draws"` // the packs it was paid from; the rest, if any, is debt
}

// Balance is a team's pool at an instant. Available is what a new launch can count on:
// Unexpired (tokens left in packs not yet expired) less Held (set aside for sessions in
// grace) and Debt (overdrawn renewals, paid by the next pack).
type Balance struct {
	Team      string        `json:"team"`
	Spent     int64         `json:"spent"`
	Available int64         `json:"available"`
	Unexpired int64         `json:"unexpired"`
	Held      int64         `json:"held"`
	Debt      int64         `json:"debt"`
	Forfeited int64         `json:"forfeited"`
	Threshold int64         `json:"threshold"` // the low-balance threshold in tokens
	Expiring  []charge.Pack `json:"expiring_within_90_days"`
}

// Running is a session open on a device.
type Running struct {
	Device string `json:"device"`
	charge.Session
}

// Report is where things stand at a report event.
type Report struct {
	Teams    []Balance       `json:"teams"`
	Windows  []charge.Window `json:"windows"` // paid windows open at this instant
	Holds    []Hold          `json:"holds"`
	Sessions []Running       `json:"sessions"`
}

// Hold is tokens set aside for a session in grace.
type Hold struct {
	Team   string `json:"team"`
	ID     string `json:"id"`
	Tokens int64  `json:"tokens"`
}

// refusal is an event the simulated ledger or agent refuses: reported in the timeline
// with its reason, and the run goes on.
type refusal struct{ code, msg string }

func (r refusal) Error() string { return r.msg }

type pu struct{ user, product string }

type hold struct {
	team          string
	user, product string
	tokens        int64
	at            time.Time
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
	// inputs is, for each user whose notifier reports on this device, since when their
	// session has had no input; zero while they are at it.
	inputs map[string]time.Time
	seq    int
}

type engine struct {
	tl      *Timeline
	epoch   time.Time
	now     time.Time
	rates   map[string]int64
	users   map[string]User
	teams   map[string]Team
	pools   map[string]*charge.Pool
	book    *charge.Book // the windows the ledger has paid
	devices map[string]*device
	res     *Result
	forfeit map[string]int64
	spent   map[string]int64
	refused map[string]string // packs whose purchase was refused, and why
	dl      deadlines
	seen    map[string][]string        // device -> the users its events name, for its offline snapshot
	caps    map[string][]charge.Budget // team -> its caps, without what is used of them
	holders map[string]hold            // online holds by id: whose they are, for the caps
	uses    map[pu]*useLog             // what the advisor counts
	opt     Options
	rb      reorder         // lines waiting for their turn, when streamed
	night   *charge.Nightly // policy nightly_close, if the timeline sets one
	err     error           // a consumer's error, or a line out of order: ends the run
}

// Run replays the timeline and returns what it cost.
func Run(tl *Timeline) (*Result, error) { return RunWith(tl, Options{}) }

// RunWith replays the timeline, handing lines and charges on as they are decided where
// opt says so; the rest of the Result is returned at the end.
func RunWith(tl *Timeline, opt Options) (*Result, error) { return runWith(tl, opt, nil) }

// runWith is RunWith that also hands the engine to a test, through ep.
func runWith(tl *Timeline, opt Options, ep **engine) (*Result, error) {
	e := &engine{
		opt: opt, rb: newReorder(tl),
		tl: tl, rates: map[string]int64{}, users: map[string]User{}, teams: map[string]Team{},
		pools: map[string]*charge.Pool{}, book: charge.NewBook(),
		devices: map[string]*device{}, forfeit: map[string]int64{}, spent: map[string]int64{}, refused: map[string]string{},
		dl:   deadlines{dirtyDev: map[string]bool{}, dirtyPool: map[string]bool{}, pendingAlerts: map[string]bool{}},
		seen: map[string][]string{}, caps: map[string][]charge.Budget{}, holders: map[string]hold{}, uses: map[pu]*useLog{},
		res: &Result{Start: []Balance{}, Lines: []Line{}, Charges: []Charge{}, Users: map[string]int64{}, Prods: map[string]int64{},
			Teams: []Balance{}, Running: []Running{}},
	}
	if ep != nil {
		*ep = e
	}
	e.epoch = tl.Events[0].At.Time
	if n, err := charge.ParseNightly(tl.Policy.NightlyClose, time.UTC); err == nil {
		e.night = &n // parse refused a bad one; "" is none
	}
	e.now = e.epoch
	for _, p := range tl.Products {
		e.rates[p.ID] = p.Rate
		e.res.Prods[p.ID] = 0
	}
	for _, t := range tl.Teams {
		e.teams[t.ID] = t
		e.pools[t.ID] = &charge.Pool{Team: t.ID, Threshold: t.Threshold}
		e.dl.poolNames = append(e.dl.poolNames, t.ID)
	}
	slices.Sort(e.dl.poolNames)
	for _, ev := range tl.Events {
		if ev.Device != "" && ev.User != "" && !slices.Contains(e.seen[ev.Device], ev.User) {
			e.seen[ev.Device] = append(e.seen[ev.Device], ev.User)
		}
	}
	for _, u := range tl.Users {
		e.users[u.ID] = u
		e.res.Users[u.ID] = 0
	}
	for _, p := range tl.Packs {
		k, _ := charge.NewPack(p.ID, p.Team, p.Tokens, p.Bought.Time) // checked by Parse
		if p.Left != nil {
			k.Left = *p.Left
		}
		e.pools[p.Team].Add(k, e.now)
		e.touchPool(e.pools[p.Team])
	}
	// The state at the start is not news: it is reported as the starting state, and only
	// a crossing during the timeline notifies.
	for _, pool := range e.sortedPools() {
		for _, f := range pool.Expire(e.now) { // packs that expired before the timeline began
			e.forfeit[pool.Team] += f.Tokens
		}
		pool.Alerts(e.now)
		b := e.balance(pool)
		e.res.Start = append(e.res.Start, b)
		text := fmt.Sprintf("team %s starts with %d tokens available (%d unexpired, %d debt); low-balance threshold %d",
			b.Team, b.Available, b.Unexpired, b.Debt, b.Threshold)
		if pool.Low {
			text += ": already below it, so no notice until it rises above and falls again"
		}
		e.line(Line{At: e.now, Kind: "start", Tokens: b.Available, Text: text})
	}
	if opt.Start != nil {
		if err := opt.Start(e.res.Start); err != nil {
			return nil, err
		}
	}
	for _, ev := range tl.Events {
		if err := e.until(ev.At.Time); err != nil {
			return nil, err
		}
		e.now = ev.At.Time
		if err := e.flush(e.now, false); err != nil {
			return nil, err
		}
		if err := e.apply(ev); err != nil {
			var r refusal
			if !errors.As(err, &r) {
				return nil, fmt.Errorf("line %d: %w", ev.line, err)
			}
			e.line(Line{At: e.now, Device: ev.Device, User: ev.User, Product: ev.Start + ev.End, Kind: "refused", Reason: r.code,
				Text: fmt.Sprintf("line %d refused: %s", ev.line, r.msg)})
		}
	}
	// Let sessions whose last process ended settle their merge gap.
	if err := e.until(e.now.Add(charge.MergeGap + time.Nanosecond)); err != nil {
		return nil, err
	}
	if err := e.flush(e.now, true); err != nil {
		return nil, err
	}
	e.totals()
	e.res.Advice = e.advice(tl.Events[len(tl.Events)-1].At.Time)
	return e.res, nil
}

func (e *engine) device(name string) *device {
	d, ok := e.devices[name]
	if !ok {
		d = &device{name: name, meter: charge.NewMeter(name, e.policy()), procs: map[pu][]string{}, closed: map[pu]int{}, inputs: map[string]time.Time{},
			spent: map[string]int64{}, held: map[string]hold{}, lastTrue: e.now}
		e.devices[name] = d
		e.addDeviceName(name)
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
		RenewalWhenIdle:  e.tl.Policy.RenewalWhenIdle,
		IdleAfter:        time.Duration(e.tl.Policy.IdleAfter),
	}
}

// reading is what device d's clocks say at true time t.
func (e *engine) reading(d *device, t time.Time) charge.Reading {
	mono := t.Sub(e.epoch) - d.slept
	if d.asleep {
		mono = d.sleepAt.Sub(e.epoch) - d.slept
	}
	d.lastTrue = t
	e.touch(d) // every meter call takes a reading: its deadline may have moved
	if !d.offline {
		d.offset = -d.skew // online, the agent knows the ledger's time
	}
	return charge.Reading{Wall: t.Add(d.skew + d.offset), Mono: mono}
}

// until fires every deadline of every device, and every pack expiry, before t, in time
// order across devices.
func (e *engine) until(t time.Time) error {
	for range 10_000_000 {
		e.refresh()
		var next time.Time
		var who *device
		var pool *charge.Pool
		found := false
		if x, ok := e.nextDevice(); ok && x.at.Before(t) {
			next, who, found = x.at, e.devices[x.name], true
		}
		// A device's deadline goes before a pool's expiry at the same instant.
		if x, ok := e.nextPool(); ok && !x.at.After(t) && (!found || x.at.Before(next)) {
			next, who, pool, found = x.at, nil, e.pools[x.name], true
		}
		if !found {
			return nil
		}
		if next.After(e.now) {
			e.now = next
		}
		if err := e.flush(e.now, false); err != nil {
			return err
		}
		if pool != nil {
			e.expire(pool)
			continue
		}
		// The notifiers report as each deadline falls, as they do every 30 s.
		prev := who.meter.Now()
		e.notify(who)
		r := e.reading(who, e.now)
		e.effects(who, who.meter.Advance(r, e.ents(who)))
		e.nightly(who, prev, r)
	}
	return fmt.Errorf("simulation did not settle before %s: a deadline repeats without progress", t.Format(time.RFC3339))
}

func (e *engine) expire(p *charge.Pool) {
	e.touchPool(p)
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
			code := "order_too_large"
			if errors.Is(err, charge.ErrSmallOrder) {
				code = "order_too_small"
			}
			e.refused[ev.Buy.ID] = err.Error()
			return refusal{code, fmt.Sprintf("team %s's order of pack %s: %v", ev.Buy.Team, ev.Buy.ID, err)}
		}
		if !ev.Buy.Bought.IsZero() {
			k.Bought = ev.Buy.Bought.Time
		}
		p := e.pools[k.Team]
		p.Add(k, e.now)
		e.touchPool(p)
		e.line(Line{At: e.now, Kind: "bought", Tokens: k.Tokens, Text: fmt.Sprintf("team %s bought pack %s: %d tokens, expiring on %s", k.Team, k.ID, k.Tokens, k.Expires().Format(time.DateOnly))})
		e.alerts(p)
		return nil
	case ev.Transfer != nil:
		return e.transfer(*ev.Transfer)
	case ev.Report:
		e.report()
		return nil
	case ev.Rate != nil, ev.Subscribe != nil, ev.Assign != nil, ev.Unassign != nil, ev.Restrict != nil, ev.Threshold != nil, ev.Budget != nil:
		e.admin(ev)
		return nil
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
			return refusal{"no_such_process", fmt.Sprintf("%s ends %s on %s, but no such process is running there: nothing changes (check its start)", ev.User, e.productName(ev.End), d.name)}
		}
		id := ids[i]
		d.procs[k] = slices.Delete(ids, i, i+1)
		e.effects(d, d.meter.Exit(e.reading(d, e.now), id, e.ents(d)))
	case ev.Offline:
		if !d.offline {
			d.offline = true
			d.snap = map[string]charge.Entitlement{}
			// Only users whose events are on this device ever ask it for an entitlement.
			for _, id := range e.seen[d.name] {
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
	case ev.Idle, ev.Active:
		since, what := time.Time{}, "is back at the keyboard"
		if ev.Idle {
			since, what = e.now, "left the keyboard"
		}
		d.inputs[ev.User] = since
		e.line(Line{At: e.now, Device: d.name, User: ev.User, Kind: map[bool]string{true: "idle", false: "active"}[ev.Idle],
			Text: fmt.Sprintf("%s %s on %s", ev.User, what, d.name)})
		e.notify(d)
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
	for _, name := range e.dl.poolNames {
		p := e.pools[name]
		if slices.ContainsFunc(p.Packs, func(k charge.Pack) bool { return k.ID == m.Pack }) {
			from = p
		}
	}
	if from == nil {
		why := "it is in no team"
		if r, ok := e.refused[m.Pack]; ok {
			why = "its purchase was refused (" + r + ")"
		}
		return refusal{"unknown_pack", fmt.Sprintf("transfer of pack %s to team %s: %s", m.Pack, m.To, why)}
	}
	k, err := from.Take(m.Pack, m.Tokens, e.now)
	if err != nil {
		code := "unknown_pack"
		switch {
		case errors.Is(err, charge.ErrPartialTransfer):
			code = "partial_transfer"
		case errors.Is(err, charge.ErrPackExpiredOrder):
			code = "pack_expired"
		}
		return refusal{code, fmt.Sprintf("transfer of pack %s to team %s: %v", m.Pack, m.To, err)}
	}
	to := e.pools[m.To]
	to.Add(k, e.now)
	e.touchPool(from)
	e.touchPool(to)
	e.line(Line{At: e.now, Kind: "transferred", Tokens: k.Left, Text: fmt.Sprintf("pack %s moved from team %s to team %s with its %d tokens left", k.ID, from.Team, m.To, k.Left)})
	e.alerts(from)
	e.alerts(to)
	return nil
}

// online drains what a device journaled while offline, as the agent's sync loop does.
func (e *engine) online(d *device) {
	d.offline = false
	e.line(Line{At: e.now, Device: d.name, Kind: "online", Text: fmt.Sprintf("%s reached the ledger: syncing what it journaled offline (%s)", d.name, plural(len(d.queue), "charge"))})
	q := d.queue
	d.queue = nil
	for _, f := range q {
		e.take(d, f, true)
	}
	for id, h := range d.held {
		e.pools[h.team].Hold(id, h.tokens)
		e.moved(e.pools[h.team])
	}
	// Only a pool whose balance moved since its last check can cross its threshold.
	for _, team := range e.dl.poolNames {
		if e.dl.pendingAlerts[team] {
			e.alerts(e.pools[team])
		}
	}
}

// notify is the notifiers of device d telling its meter how long each of their users has
// had no input.
func (e *engine) notify(d *device) {
	if d.asleep {
		return
	}
	users := make([]string, 0, len(d.inputs))
	for u := range d.inputs {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		var idle time.Duration
		if since := d.inputs[u]; !since.IsZero() {
			idle = e.now.Sub(since)
		}
		e.effects(d, d.meter.Input(e.reading(d, e.now), u, idle, e.ents(d)))
	}
}
