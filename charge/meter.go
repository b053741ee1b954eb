package charge

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// Reading is one look at the clocks. Wall is the ledger's time as the device best knows
// it (its own wall clock plus the offset it last saw); Mono is a monotonic clock that does
// not advance while the machine sleeps. Use is measured on Mono; windows on Wall.
type Reading struct {
	Wall time.Time
	Mono time.Duration
}

// Proc is a process of a product, run by a user. ID is unique on the device for the
// process's lifetime (the agent uses pid and start time).
type Proc struct {
	ID      string `json:"id"`
	User    string `json:"user"`
	Product string `json:"product"`
	// Hold names the hold a session this process opens in grace places, when the caller
	// placed it already (the agent asks the ledger before the meter decides); empty means
	// Effect.HoldID's derived name.
	Hold string `json:"hold,omitempty"`
}

// Entitlements answers what a user is entitled to now. The simulator answers from its
// pools; the agent from its snapshot less what it spent since.
type Entitlements interface {
	Entitlement(user string) Entitlement
}

// rollbackTolerance ignores the jitter of clock slewing: a wall clock moved backwards by
// less than this is not reported.
const rollbackTolerance = time.Second

type up struct{ user, product string }

func upCmp(a, b up) int {
	return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.product, b.product))
}

type state int

const (
	stGrace       state = iota // uncharged, holding tokens
	stPaid                     // inside a paid window
	stSub                      // on a subscription
	stClosing                  // the pool could not renew; closes at closeAt
	stClosed                   // asked to close; waiting for the processes to go
	stIdleClosing              // asked to close for idleness at its renewal; renewed if open at closeAt
)

type session struct {
	team     string
	start    time.Time
	procs    map[string]bool
	state    state
	rate     int64 // the product's rate when the session (or its grace) started
	held     bool
	hold     string // the hold's name, when the caller gave one
	window   Window
	subUntil time.Time
	gapFrom  time.Time // when the last process exited; zero while one runs
	closeAt  time.Time
	reason   Reason // why a closed session was closed, when not for tokens
	warned   bool
	use      time.Duration // up to mark; see sync

	busy      time.Time // when its processes last used CPU, or one started
	idlePlan  bool      // its user was warned that it closes, idle, at the renewal
	nightPlan bool      // its user was warned that it closes, idle, at the nightly close
	idleSince time.Time // stIdleClosing: since when nobody used it
	saves     int64     // stIdleClosing: what the renewal would cost

	k     up
	mark  time.Duration // the device's use clock when use was last counted in
	at    time.Time     // the key in the deadline heap
	idx   int           // the index in the deadline heap; -1 when not in it
	dirty bool          // to be re-keyed
}

func (s *session) running() bool { return s.gapFrom.IsZero() }

// chunk is uncharged use that ended at end and lasted d.
type chunk struct {
	end time.Time
	d   time.Duration
}

// Meter applies the charging rules to the processes of one device. It is a pure state
// machine: every method takes the time it acts at and returns the effects to carry out,
// in order. Deadlines (grace running out, windows ending) fire inside any call whose
// reading is past them; Next says when the caller should call Advance. A Meter is not
// safe for concurrent use.
type Meter struct {
	device string
	policy Policy

	init     bool
	now      time.Time // effective time: never goes backwards (the high-water mark)
	mono     time.Duration
	lastWall time.Time
	shift    time.Duration // how far the wall clock was set back, and is corrected by
	pruned   time.Time

	sessions map[up]*session
	procs    map[string]up // running process -> its session
	denied   map[string]bool
	used     map[up][]chunk  // uncharged use over the trailing Day
	windows  map[up][]Window // windows known for (user, product), own and learned
	asleep   []Proc          // processes to resume at wake
	sleeping bool
	inputs   map[string]input // the users' input idleness, as their notifiers report it

	clock time.Duration // use counted on the device since the meter was made or restored
	ticks []tick        // that use over the trailing Day, as spans
	due   deadlines
	dirty []*session

	// The caller applies effects after a call returns, so within one call the meter keeps
	// its own tally of what it spent and subtracts it from what the source answers.
	src   Entitlements
	spent map[string]int64
	// What this call spent, by whom, so that the caps (rule 13) count it too: two products
	// of one user renewing in the same call must not both pass a cap only one fits.
	capped []capSpend
}

type capSpend struct {
	team, user, product string
	n                   int64
	at                  time.Time
}

func (m *Meter) begin(ents Entitlements) {
	m.src = ents
	clear(m.spent)
	m.capped = m.capped[:0]
}

// ent is the user's entitlement less what this call has already spent.
func (m *Meter) ent(user string) Entitlement {
	e := m.src.Entitlement(user)
	e.Available -= m.spent[e.Team]
	if len(e.Budgets) > 0 {
		for _, c := range m.capped {
			if c.team == e.Team {
				e.Budgets = Spend(e.Budgets, c.user, c.product, c.n, c.at)
			}
		}
	}
	return e
}

// spend counts n tokens of k's session, starting a charge or a hold at at, against the
// team's balance and its caps for the rest of this call.
func (m *Meter) spend(team string, k up, n int64, at time.Time) {
	if m.spent == nil {
		m.spent = make(map[string]int64)
	}
	m.spent[team] += n
	m.capped = append(m.capped, capSpend{team, k.user, k.product, n, at})
}

// NewMeter returns a Meter for device.
func NewMeter(device string, p Policy) *Meter {
	return &Meter{
		device:   device,
		policy:   p.withDefaults(),
		sessions: make(map[up]*session),
		procs:    make(map[string]up),
		denied:   make(map[string]bool),
		used:     make(map[up][]chunk),
		windows:  make(map[up][]Window),
		inputs:   make(map[string]input),
	}
}

// Now is the meter's high-water mark of time.
func (m *Meter) Now() time.Time { return m.now }

// Last is the last reading the meter was given, and whether it was given any: after a
// restart, the last instant the device is known to have been watching.
func (m *Meter) Last() (Reading, bool) { return Reading{Wall: m.lastWall, Mono: m.mono}, m.init }

// SetPolicy changes the policy, for a config push; it applies from the next deadline.
func (m *Meter) SetPolicy(p Policy) { m.policy = p.withDefaults() }

// Advance moves time forward to r and fires what is due.
func (m *Meter) Advance(r Reading, ents Entitlements) []Effect {
	m.begin(ents)
	return m.fire(m.step(r, nil))
}

// Start reports a new process. The decision says whether it may run; a denied process
// is also reported as a Denied effect and must be closed by the caller.
func (m *Meter) Start(r Reading, p Proc, ents Entitlements) (Decision, []Effect) {
	m.begin(ents)
	out := m.step(r, nil)
	if m.sleeping {
		m.asleep = append(m.asleep, p)
		return Decision{Allowed: true, User: p.User, Product: p.Product}, out
	}
	d, out := m.start(p, out)
	return d, m.fire(out)
}

func (m *Meter) start(p Proc, out []Effect) (Decision, []Effect) {
	k := up{p.User, p.Product}
	if s, ok := m.sessions[k]; ok {
		return m.join(k, s, p, out)
	}
	e := m.ent(p.User)
	e.Windows = append(slices.Clip(e.Windows), m.windows[k]...)
	d := Decide(e, p.Product, m.now, m.policy)
	if !d.Allowed {
		m.denied[p.ID] = true
		return d, append(out, Effect{Kind: Denied, At: m.now, Device: m.device, User: p.User, Product: p.Product,
			Reason: d.Reason, Procs: []string{p.ID}, Decision: &d})
	}
	s := &session{team: e.Team, start: m.now, procs: map[string]bool{p.ID: true}, rate: d.Rate, hold: p.Hold, k: k, mark: m.clock, idx: -1, busy: m.now}
	m.sessions[k] = s
	m.touch(s)
	m.procs[p.ID] = k
	opened := Effect{Kind: Opened, At: m.now, Device: m.device, User: p.User, Product: p.Product, Reason: d.Reason, Until: d.Until, Decision: &d}
	switch d.Reason {
	case Subscribed:
		s.state, s.subUntil = stSub, d.Until
		out = append(out, opened)
	case PaidWindow:
		w, _ := e.Window(p.Product, m.now)
		s.state, s.window = stPaid, w
		m.learn(k, w)
		out = append(out, opened)
	default:
		s.state, s.held = stGrace, true
		m.spend(s.team, k, s.rate, m.now)
		out = append(out, opened, Effect{Kind: Held, At: m.now, Device: m.device, User: p.User, Product: p.Product,
			Key: m.graceKey(k, s), Hold: s.hold, Tokens: s.rate})
		out = m.fire(out) // cumulative use may already be spent
	}
	return d, out
}

// join adds a process to a running session: overlapping processes of one (user,
// product) are one session, and a gap shorter than MergeGap does not end it.
func (m *Meter) join(k up, s *session, p Proc, out []Effect) (Decision, []Effect) {
	d := Decision{Allowed: true, User: k.user, Team: s.team, Product: k.product, Rate: s.rate}
	m.touch(s)
	s.busy = m.now
	if s.state == stIdleClosing {
		// Opened again while it was being closed for idleness: someone wants it after all.
		s.state = stPaid
		out = m.renew(k, s, s.window.End(), out)
	}
	switch s.state {
	case stClosing, stClosed:
		d.Allowed, d.Reason = false, s.closedFor()
		m.denied[p.ID] = true
		return d, append(out, Effect{Kind: Denied, At: m.now, Device: m.device, User: k.user, Product: k.product,
			Reason: d.Reason, Procs: []string{p.ID}, Decision: &d})
	case stSub:
		d.Reason, d.Until = Subscribed, s.subUntil
	case stPaid:
		d.Reason, d.Until = PaidWindow, s.window.End()
	default:
		d.Reason = InGrace
	}
	s.procs[p.ID] = true
	m.procs[p.ID] = k
	if !s.running() {
		// The handover gap counts as use: the session never ended. Deadlines that fell in
		// the gap (a subscription ending, a window ending) happen first, at their instants,
		// so that the gap counts as what the session was by then.
		from := s.gapFrom
		s.use += m.now.Sub(from)
		s.gapFrom = time.Time{}
		out = m.fire(out)
		if s.state == stGrace {
			if s.start.After(from) {
				from = s.start
			}
			if m.now.After(from) {
				m.addUse(k, m.now, m.now.Sub(from))
				m.touch(s) // the gap brought its deadline nearer: re-key it
			}
		}
		out = m.fire(out)
	}
	return d, out
}

// Exit reports that a process ended.
func (m *Meter) Exit(r Reading, id string, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	if m.denied[id] {
		delete(m.denied, id)
		return out
	}
	if m.sleeping {
		m.asleep = slices.DeleteFunc(m.asleep, func(p Proc) bool { return p.ID == id })
		return out
	}
	k, ok := m.procs[id]
	if !ok {
		return out
	}
	delete(m.procs, id)
	s := m.sessions[k]
	m.touch(s)
	delete(s.procs, id)
	if len(s.procs) == 0 {
		s.gapFrom = m.now
	}
	return m.fire(out)
}

// Sleep reports that the machine is going to sleep. Sleep is not use: every session ends
// now, and the processes still running start new sessions at Wake.
func (m *Meter) Sleep(r Reading, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	if m.sleeping {
		return out
	}
	m.sleeping = true
	for _, k := range m.keys() {
		s := m.sessions[k]
		m.touch(s)
		for _, id := range sortedKeys(s.procs) {
			m.asleep = append(m.asleep, Proc{ID: id, User: k.user, Product: k.product})
		}
		if s.running() {
			s.gapFrom = m.now
		}
		out = m.end(k, s, out)
	}
	return out
}

// Wake reports that the machine woke. Each product still running is decided afresh.
func (m *Meter) Wake(r Reading, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	if !m.sleeping {
		return out
	}
	m.sleeping = false
	procs := m.asleep
	m.asleep = nil
	for _, p := range procs {
		_, out = m.start(p, out)
	}
	return m.fire(out)
}

// Asleep lists the processes to be decided afresh at Wake, while the machine sleeps.
func (m *Meter) Asleep() []Proc { return slices.Clone(m.asleep) }

// Sleeping reports whether the meter was told of a sleep and not yet of the wake.
func (m *Meter) Sleeping() bool { return m.sleeping }

// Recheck re-decides user's sessions in grace against what is now known of them (a new
// snapshot): a subscription that began covers the session from now (rule 1) and its hold
// is released; a user unassigned, or restricted from the product, has the session closed
// with its hold released and nothing charged. Paid windows and subscriptions run on.
func (m *Meter) Recheck(r Reading, user string, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	for _, k := range m.keys() {
		s := m.sessions[k]
		if k.user != user || s.state != stGrace {
			continue
		}
		m.touch(s)
		e := m.ent(user)
		if sub, ok := e.Subscribed(k.product, m.now); ok {
			if s.held {
				out = append(out, m.release(k, s))
			}
			out = append(out, Effect{Kind: Opened, At: m.now, Device: m.device, User: k.user, Product: k.product, Reason: Subscribed, Until: sub.Until})
			s.state, s.subUntil = stSub, sub.Until
			delete(m.used, k)
			continue
		}
		if r := barred(e, k.product); r != "" {
			out = m.closeBarred(k, s, e, r, out)
		}
	}
	return m.fire(out)
}

// closeBarred closes a session in grace that the admin's word no longer allows: its hold
// is released, nothing is charged, and its processes are asked to close.
func (m *Meter) closeBarred(k up, s *session, e Entitlement, r Reason, out []Effect) []Effect {
	if s.held {
		out = append(out, m.release(k, s))
	}
	s.state, s.reason = stClosed, r
	d := Decision{User: k.user, Team: e.Team, Product: k.product, Reason: r, Rate: s.rate, Available: e.Available}
	return append(out, Effect{Kind: Close, At: m.now, Device: m.device, User: k.user, Product: k.product,
		Reason: r, Procs: sortedKeys(s.procs), Decision: &d})
}

// closedFor is why a closing or closed session refuses new processes.
func (s *session) closedFor() Reason {
	if s.reason != "" {
		return s.reason
	}
	return InsufficientTokens
}

// Learn tells the meter of the window the ledger holds for a user and product: the
// answer that a charge was folded into a window paid on another device. A session in
// grace that the window covers stops holding; a paid session whose window overlaps it
// moves to it, so that its renewals follow the window that was debited.
func (m *Meter) Learn(w Window) []Effect {
	k := up{w.Key.User, w.Key.Product}
	m.learn(k, w)
	s, ok := m.sessions[k]
	if !ok {
		return nil
	}
	m.touch(s)
	switch {
	case s.state == stGrace && w.Covers(s.start):
		out := []Effect{m.release(k, s), {Kind: Folded, At: m.now, Device: m.device, User: k.user, Product: k.product, Key: w.Key, Until: w.End()}}
		s.state, s.window, s.warned = stPaid, w, false
		return out
	case s.state == stPaid && w.Overlaps(s.window) && w.Key != s.window.Key:
		// The ledger's standing window: the one it debited, whichever device paid it.
		s.window, s.warned = w, false
		return []Effect{{Kind: Folded, At: m.now, Device: m.device, User: k.user, Product: k.product, Key: w.Key, Until: w.End()}}
	}
	return nil
}

func (m *Meter) learn(k up, w Window) {
	ws := m.windows[k]
	if slices.ContainsFunc(ws, func(x Window) bool { return x.Key == w.Key }) {
		return
	}
	m.windows[k] = append(ws, w)
}

// Sessions lists the open sessions, for status and tests.
func (m *Meter) Sessions() []Session {
	out := make([]Session, 0, len(m.sessions))
	for _, k := range m.keys() {
		s := m.sessions[k]
		m.sync(s)
		v := Session{User: k.user, Product: k.product, Team: s.team, Start: s.start, Use: s.use, Procs: len(s.procs), Running: s.running()}
		switch s.state {
		case stGrace:
			v.State, v.GraceLeft = PhaseGrace, max(0, Grace-m.trailing(k))
		case stPaid:
			v.State, v.Until = PhasePaid, s.window.End()
		case stSub:
			v.State, v.Until = PhaseSubscription, s.subUntil
		default:
			v.State, v.Until = PhaseClosing, s.closeAt
		}
		if f := m.idleFacts(s); f.IdleAt(m.now, m.now, m.policy.IdleAfter) {
			v.IdleSince = f.Since()
		}
		out = append(out, v)
	}
	return out
}

// Session is a read-only view of an open session.
type Session struct {
	User      string        `json:"user"`
	Product   string        `json:"product"`
	Team      string        `json:"team"`
	State     Phase         `json:"state"`
	Start     time.Time     `json:"start"`
	Until     time.Time     `json:"until,omitzero"`
	GraceLeft time.Duration `json:"grace_left,omitempty"`
	Use       time.Duration `json:"use"`
	Procs     int           `json:"procs"`
	Running   bool          `json:"running"`
	IdleSince time.Time     `json:"idle_since,omitzero"` // nobody has used it since, by input and CPU
}

// Next is when the next deadline falls, in the meter's time: the caller calls Advance
// then (or earlier; early calls are harmless).
func (m *Meter) Next() (time.Time, bool) {
	s, ok := m.top()
	if !ok {
		return time.Time{}, false
	}
	return s.at, !s.at.IsZero()
}

// deadline is the next instant session s needs attention.
func (m *Meter) deadline(s *session) (time.Time, bool) {
	if !s.running() {
		return s.gapFrom.Add(MergeGap), true
	}
	switch s.state {
	case stGrace:
		m.sync(s)
		return m.now.Add(max(0, Grace-m.trailing(s.k))), true
	case stPaid:
		if !s.warned {
			return s.window.End().Add(-RenewalNotice), true
		}
		return s.window.End(), true
	case stSub:
		return s.subUntil, !s.subUntil.IsZero()
	case stClosing, stIdleClosing:
		return s.closeAt, true
	}
	return time.Time{}, false
}

// step moves the effective time to r, firing every deadline on the way in order.
func (m *Meter) step(r Reading, out []Effect) []Effect {
	if !m.init {
		m.init, m.now, m.mono, m.lastWall = true, r.Wall, r.Mono, r.Wall
		return out
	}
	dMono := max(0, r.Mono-m.mono) // a monotonic clock that went back is a restart: no use
	// The wall clock should have moved as the monotonic one did. Much less is a rollback,
	// remembered as a shift that later readings are corrected by, so that a clock set back
	// gains nothing even across sleep. Much more, outside sleep, while shifted, is the clock
	// being set right again, which undoes the shift.
	expected := m.lastWall.Add(dMono)
	rolledBack := r.Wall.Before(expected.Add(-rollbackTolerance))
	switch {
	case rolledBack:
		m.shift += expected.Sub(r.Wall)
	case m.shift > 0 && !m.sleeping && r.Wall.After(expected.Add(rollbackTolerance)):
		m.shift -= min(m.shift, r.Wall.Sub(expected))
	}
	m.mono, m.lastWall = r.Mono, r.Wall
	target := m.now.Add(dMono)
	if w := r.Wall.Add(m.shift); w.After(target) {
		target = w
	}
	budget := dMono
	// Deadlines strictly before the reading fire here; one at the reading itself waits for
	// the event being reported, so that a product closed the instant its window ends is
	// not renewed. The public methods fire it after applying their event.
	for {
		d, ok := m.Next()
		if !ok || !d.Before(target) {
			break
		}
		m.advance(d, &budget)
		out = m.fire(out)
	}
	m.advance(target, &budget)
	out = m.settle(out)
	m.prune()
	if rolledBack {
		out = append(out, Effect{Kind: Rollback, At: m.now, Device: m.device, From: expected, Until: r.Wall})
	}
	return out
}

// advance moves effective time to t. Of the time passed, only what the monotonic clock
// saw (budget) is use; the rest was sleep or a wall clock moved forward.
func (m *Meter) advance(t time.Time, budget *time.Duration) {
	if !t.After(m.now) {
		return
	}
	u := min(t.Sub(m.now), *budget)
	*budget -= u
	if u > 0 {
		m.count(m.now.Add(u), u) // every running session's, taken at its next sync
	}
	m.now = t
}

// settle ends the sessions whose merge gap ran out at the current time, before the event
// being reported: a process that starts exactly MergeGap after the last one exited starts
// a new session.
func (m *Meter) settle(out []Effect) []Effect {
	for _, s := range m.popDue() {
		if s.running() { // due now, but fires after the event
			continue
		}
		k := s.k
		if s.state == stGrace && m.trailing(k) >= Grace {
			out = m.commit(k, s, out)
		}
		out = m.end(k, s, out)
	}
	return out
}

// fire carries out every deadline due at the current time, in a stable order.
func (m *Meter) fire(out []Effect) []Effect {
	for _, s := range m.popDue() {
		k := s.k
		if !s.running() {
			// Use that reached the grace as the last process exited is charged.
			if s.state == stGrace && m.trailing(k) >= Grace {
				out = m.commit(k, s, out)
			}
			if !s.gapFrom.Add(MergeGap).After(m.now) {
				out = m.end(k, s, out)
			}
			continue
		}
		switch s.state {
		case stGrace:
			if m.trailing(k) >= Grace {
				out = m.commit(k, s, out)
			}
		case stSub:
			if !s.subUntil.IsZero() && !s.subUntil.After(m.now) {
				out = m.subEnded(k, s, out)
			}
		case stClosing:
			if !s.closeAt.After(m.now) {
				out = m.closeDue(k, s, out)
			}
		case stIdleClosing:
			if !s.closeAt.After(m.now) {
				out = m.stayedOpen(k, s, out)
			}
		}
		if s.state == stPaid {
			out = m.renewDue(k, s, out)
		}
	}
	return out
}

func (m *Meter) graceKey(k up, s *session) Key {
	return Key{Team: s.team, User: k.user, Product: k.product, Start: s.start}
}

// commit turns a session's grace into a paid window [start, start+Day) at the rate of
// the session's start.
func (m *Meter) commit(k up, s *session, out []Effect) []Effect {
	e := m.ent(k.user)
	if sub, ok := e.Subscribed(k.product, m.now); ok {
		// A subscription that began during the grace covers the session from now: rule 1
		// comes first, so the charge never commits.
		if s.held {
			out = append(out, m.release(k, s))
		}
		out = append(out, Effect{Kind: Opened, At: m.now, Device: m.device, User: k.user, Product: k.product, Reason: Subscribed, Until: sub.Until})
		s.state, s.subUntil = stSub, sub.Until
		delete(m.used, k)
		return out
	}
	if r := barred(e, k.product); r != "" {
		// Unassigned or restricted since the grace began: the admin's word applies at
		// once, so the grace ends in a close, not a charge.
		return m.closeBarred(k, s, e, r, out)
	}
	key := m.graceKey(k, s)
	var held int64
	if s.held {
		held = s.rate
	} else {
		m.spend(e.Team, k, s.rate, s.start)
	}
	w := Window{Key: key, Tokens: s.rate, Device: m.device}
	hold := ""
	if s.held {
		hold = s.hold
	}
	out = append(out, Effect{Kind: Charged, At: m.now, Device: m.device, User: k.user, Product: k.product,
		Key: key, Hold: hold, Tokens: s.rate, Overdraw: e.Available+held < s.rate, Until: w.End()})
	s.state, s.window, s.held, s.warned = stPaid, w, false, false
	delete(m.used, k)
	m.learn(k, w)
	return m.renewDue(k, s, out)
}

// renewDue warns before, and renews at, the end of a running session's window (rule 4).
func (m *Meter) renewDue(k up, s *session, out []Effect) []Effect {
	for s.state == stPaid && s.running() {
		end := s.window.End()
		if !s.warned && !end.Add(-RenewalNotice).After(m.now) {
			s.warned, s.idlePlan = true, false
			if end.After(m.now) {
				f := Effect{Kind: Renewing, At: m.now, Device: m.device, User: k.user, Product: k.product,
					Key: s.window.Key, Until: end, Tokens: m.ent(k.user).Rates[k.product]}
				if facts := m.idleFacts(s); IdlePlan(facts, m.now, end, false, m.policy) == StepWarn {
					s.idlePlan = true
					f.Reason, f.IdleSince = Idle, facts.Since()
				}
				out = append(out, f)
			}
		}
		if end.After(m.now) {
			return out
		}
		facts := m.idleFacts(s)
		if IdlePlan(facts, m.now, end, s.idlePlan, m.policy) == StepClose {
			out = m.idleClose(k, s, facts, out)
			continue
		}
		out = m.renew(k, s, end, out)
		if facts.IdleAt(m.now, end, m.policy.IdleAfter) {
			// For the reports: tokens spent on a product nobody was using.
			flagIdle(out, Idle, facts.Since())
		}
	}
	return out
}

// renew charges a new window from the instant at, when the old one ended, with no grace.
func (m *Meter) renew(k up, s *session, at time.Time, out []Effect) []Effect {
	e := m.ent(k.user)
	if sub, ok := e.Subscribed(k.product, at); ok {
		s.state, s.subUntil = stSub, sub.Until
		return append(out, Effect{Kind: Opened, At: at, Device: m.device, User: k.user, Product: k.product, Reason: Subscribed, Until: sub.Until})
	}
	key := Key{Team: e.Team, User: k.user, Product: k.product, Start: at}
	rate := e.Rates[k.product]
	for _, w := range m.windows[k] {
		if w.Covers(at) {
			s.window, s.warned = w, false
			return append(out, Effect{Kind: Folded, At: at, Device: m.device, User: k.user, Product: k.product, Key: w.Key, Until: w.End()})
		}
	}
	if r, d := m.cannotRenew(e, k.product, rate, at); r != "" && m.policy.RenewalWhenEmpty == EmptyClose {
		s.state, s.closeAt, s.reason = stClosing, at.Add(m.policy.CloseAfter), capReason(r)
		return append(out, Effect{Kind: Closing, At: at, Device: m.device, User: k.user, Product: k.product,
			Key: key, Tokens: rate, Until: s.closeAt, Reason: r, Decision: d})
	}
	w := Window{Key: key, Tokens: rate, Device: m.device}
	s.window, s.rate, s.warned = w, rate, false
	m.spend(e.Team, k, rate, at)
	m.learn(k, w)
	return append(out, Effect{Kind: Charged, At: at, Device: m.device, User: k.user, Product: k.product,
		Key: key, Tokens: rate, Renewal: true, Overdraw: e.Available < rate, Until: w.End()})
}

// closeDue acts when the warning given to a product the pool could not renew runs out:
// renew after all if tokens were bought meanwhile, else close it.
func (m *Meter) closeDue(k up, s *session, out []Effect) []Effect {
	e := m.ent(k.user)
	at := s.window.End()
	r, d := m.cannotRenew(e, k.product, e.Rates[k.product], at)
	if r == "" {
		s.state, s.reason = stPaid, ""
		return m.renew(k, s, at, out)
	}
	s.state, s.reason = stClosed, capReason(r)
	return append(out, Effect{Kind: Close, At: m.now, Device: m.device, User: k.user, Product: k.product,
		Reason: r, Procs: sortedKeys(s.procs), Decision: d})
}

// cannotRenew says why the pool or the caps cannot pay a renewal of rate tokens at at, or
// "" when they can: the balance first, as a launch is told, then the caps (rule 13). A
// renewal past a cap follows renewal_when_empty like one the balance cannot pay.
func (m *Meter) cannotRenew(e Entitlement, product string, rate int64, at time.Time) (Reason, *Decision) {
	if e.Available < rate {
		return InsufficientTokens, nil
	}
	if b, over := OverBudget(e.Budgets, e.User, product, rate, at); over {
		return BudgetExceeded, &Decision{User: e.User, Team: e.Team, Product: product, Reason: BudgetExceeded,
			Rate: rate, Available: e.Available, Budget: &b}
	}
	return "", nil
}

// capReason is the reason a closing session keeps: none for tokens, the default.
func capReason(r Reason) Reason {
	if r == InsufficientTokens {
		return ""
	}
	return r
}

// subEnded applies rule 3 from the moment a subscription ends under a running session.
func (m *Meter) subEnded(k up, s *session, out []Effect) []Effect {
	at := s.subUntil
	e := m.ent(k.user)
	if sub, ok := e.Subscribed(k.product, at); ok { // renewed meanwhile
		s.subUntil = sub.Until
		return out
	}
	for _, w := range append(slices.Clip(e.Windows), m.windows[k]...) {
		if w.Key.Product == k.product && w.Covers(at) {
			s.state, s.window, s.warned = stPaid, w, false
			return append(out, Effect{Kind: Opened, At: at, Device: m.device, User: k.user, Product: k.product, Reason: PaidWindow, Until: w.End()})
		}
	}
	s.team, s.start, s.rate = e.Team, at, e.Rates[k.product]
	if r, d := m.cannotRenew(e, k.product, s.rate, at); r != "" && m.policy.RenewalWhenEmpty == EmptyClose {
		s.state, s.closeAt, s.reason = stClosing, at.Add(m.policy.CloseAfter), capReason(r)
		s.window = Window{Key: Key{Team: e.Team, User: k.user, Product: k.product, Start: at.Add(-Day)}}
		return append(out, Effect{Kind: Closing, At: at, Device: m.device, User: k.user, Product: k.product,
			Tokens: s.rate, Until: s.closeAt, Reason: r, Decision: d})
	}
	s.state, s.held = stGrace, true
	m.spend(e.Team, k, s.rate, at)
	return append(out,
		Effect{Kind: Opened, At: at, Device: m.device, User: k.user, Product: k.product, Reason: InGrace},
		Effect{Kind: Held, At: at, Device: m.device, User: k.user, Product: k.product, Key: m.graceKey(k, s), Tokens: s.rate})
}

func (m *Meter) release(k up, s *session) Effect {
	s.held = false
	m.spend(s.team, k, -s.rate, s.start)
	return Effect{Kind: Released, At: m.now, Device: m.device, User: k.user, Product: k.product,
		Key: m.graceKey(k, s), Hold: s.hold, Tokens: s.rate, Use: s.use}
}

// end closes a session whose processes are gone, as of when the last one exited.
func (m *Meter) end(k up, s *session, out []Effect) []Effect {
	if s.state == stGrace && s.held {
		r := m.release(k, s)
		r.At = s.gapFrom
		out = append(out, r)
	}
	if s.state == stIdleClosing {
		// Closed for idleness at its renewal: the renewal was never charged.
		out = append(out, Effect{Kind: Saved, At: s.gapFrom, Device: m.device, User: k.user, Product: k.product, Reason: Idle,
			Key: Key{Team: s.team, User: k.user, Product: k.product, Start: s.window.End()}, Tokens: s.saves, IdleSince: s.idleSince})
	}
	for id := range s.procs {
		delete(m.procs, id)
	}
	delete(m.sessions, k)
	if s.idx >= 0 {
		heap.Remove(&m.due, s.idx)
	}
	return append(out, Effect{Kind: Ended, At: s.gapFrom, Device: m.device, User: k.user, Product: k.product, Use: s.use})
}

// trailing is the uncharged use of (user, product) over the Day before now.
func (m *Meter) trailing(k up) time.Duration {
	from := m.now.Add(-Day)
	var sum time.Duration
	for _, c := range m.used[k] {
		if c.end.After(from) {
			sum += min(c.d, c.end.Sub(from))
		}
	}
	return sum
}

// prune forgets use and windows too old to matter. Once a minute is often enough.
func (m *Meter) prune() {
	if m.now.Sub(m.pruned) < time.Minute {
		return
	}
	m.pruned = m.now
	from := m.now.Add(-Day)
	i := slices.IndexFunc(m.ticks, func(t tick) bool { return t.end.After(from) })
	if i < 0 {
		i = len(m.ticks)
	}
	m.ticks = slices.Delete(m.ticks, 0, i)
	for k, cs := range m.used {
		cs = slices.DeleteFunc(cs, func(c chunk) bool { return !c.end.After(from) })
		if len(cs) == 0 {
			delete(m.used, k)
		} else {
			m.used[k] = cs
		}
	}
	for k, ws := range m.windows {
		ws = slices.DeleteFunc(ws, func(w Window) bool { return w.End().Before(from) })
		if len(ws) == 0 {
			delete(m.windows, k)
		} else {
			m.windows[k] = ws
		}
	}
}

func (m *Meter) keys() []up {
	ks := make([]up, 0, len(m.sessions))
	for k := range m.sessions {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, upCmp)
	return ks
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Check answers whether user may start product now without changing anything: the
// question `tollgate check` and the pre-exec gate ask before a process exists.
func (m *Meter) Check(user, product string, ents Entitlements) Decision {
	k := up{user, product}
	if s, ok := m.sessions[k]; ok {
		d := Decision{Allowed: true, User: user, Team: s.team, Product: product, Rate: s.rate}
		switch s.state {
		case stSub:
			d.Reason, d.Until = Subscribed, s.subUntil
		case stPaid, stIdleClosing:
			d.Reason, d.Until = PaidWindow, s.window.End()
		case stGrace:
			// The session's own hold is this user's already: it does not count against
			// them, as a process joining the session takes nothing more.
			d.Reason, d.Available = InGrace, ents.Entitlement(user).Available
			if s.held {
				d.Available += s.rate
			}
		default:
			d.Allowed, d.Reason = false, s.closedFor()
		}
		return d
	}
	e := ents.Entitlement(user)
	e.Windows = append(slices.Clip(e.Windows), m.windows[k]...)
	return Decide(e, product, m.now, m.policy)
}

// input is what a user's notifier last reported: at, in the meter's time, that the last
// keyboard or mouse input was at last.
type input struct{ at, last time.Time }

// Input reports how long the user's desktop session has had no keyboard or mouse input, as
// the notifier in that session measured it just now. Input since the last report cancels
// an idle close that was announced, at the renewal or the nightly close, and the user is
// told (reason InUse) that the product stays open and renews as usual.
func (m *Meter) Input(r Reading, user string, idle time.Duration, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	m.inputs[user] = input{at: m.now, last: m.now.Add(-max(idle, 0))}
	for _, k := range m.keys() {
		s := m.sessions[k]
		if k.user != user || !(s.idlePlan || s.nightPlan) || s.state != stPaid || !s.running() {
			continue
		}
		end := s.window.End()
		f := m.idleFacts(s)
		// The renewal's plan holds while the session will still be idle at the renewal; the
		// night's, while it is idle now: the nightly close falls within RenewalNotice.
		offIdle := s.idlePlan && !f.IdleAt(m.now, end, m.policy.IdleAfter)
		offNight := s.nightPlan && !f.IdleAt(m.now, m.now, m.policy.IdleAfter)
		if !offIdle && !offNight {
			continue
		}
		m.touch(s)
		s.idlePlan = s.idlePlan && !offIdle
		s.nightPlan = s.nightPlan && !offNight
		out = append(out, Effect{Kind: Renewing, At: m.now, Device: m.device, User: k.user, Product: k.product, Reason: InUse,
			Key: s.window.Key, Until: end, Tokens: m.ent(k.user).Rates[k.product]})
	}
	return m.fire(out)
}

// Busy reports that the processes of user's product used CPU just now: the product is at
// work (rendering, syncing) even with nobody at the keyboard.
func (m *Meter) Busy(r Reading, user, product string, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	if s, ok := m.sessions[up{user, product}]; ok {
		m.touch(s)
		s.busy = m.now
	}
	return m.fire(out)
}

// idleFacts is what the meter knows of the idleness of s.
func (m *Meter) idleFacts(s *session) IdleFacts {
	in := m.inputs[s.k.user]
	busy := s.busy
	if busy.IsZero() {
		busy = s.start
	}
	return IdleFacts{Reported: in.at, LastInput: in.last, LastBusy: busy}
}

// idleClose asks an idle product to close at its renewal instead of renewing it (rule 4,
// renewal_when_idle: close). Its processes have IdleCloseWait to go; see stayedOpen.
func (m *Meter) idleClose(k up, s *session, f IdleFacts, out []Effect) []Effect {
	e := m.ent(k.user)
	s.state, s.closeAt, s.idlePlan = stIdleClosing, m.now.Add(IdleCloseWait), false
	s.idleSince, s.saves = f.Since(), e.Rates[k.product]
	return append(out, Effect{Kind: Close, At: m.now, Device: m.device, User: k.user, Product: k.product, Reason: Idle,
		Key: Key{Team: e.Team, User: k.user, Product: k.product, Start: s.window.End()}, Tokens: s.saves,
		Until: s.closeAt, IdleSince: s.idleSince, Procs: sortedKeys(s.procs)})
}

// stayedOpen renews, from the instant its window ended, an idle product that was asked to
// close and is still open: its own "save changes?" prompt may be holding it, and unsaved
// work is never killed. One asked at the nightly close, inside its window, runs on in it.
func (m *Meter) stayedOpen(k up, s *session, out []Effect) []Effect {
	s.state = stPaid
	if end := s.window.End(); end.After(m.now) {
		s.warned = false // told again before the renewal
		return out
	}
	out = m.renew(k, s, s.window.End(), out)
	flagIdle(out, StayedOpen, s.idleSince)
	return out
}

// flagIdle marks the renewal just charged, if any, as one of an idle session.
func flagIdle(out []Effect, why Reason, since time.Time) {
	if n := len(out); n > 0 && out[n-1].Kind == Charged && out[n-1].Renewal {
		out[n-1].Reason, out[n-1].IdleSince = why, since
	}
}

// Nightly is the nightly close (policy nightly_close) of the products idle at instant at:
// the caller calls it RenewalNotice before at, to warn, and at at, to close. A product
// closed then saves its next renewal; one that stays open runs on in its paid window.
func (m *Meter) Nightly(r Reading, at time.Time, ents Entitlements) []Effect {
	m.begin(ents)
	out := m.step(r, nil)
	for _, k := range m.keys() {
		s := m.sessions[k]
		if s.state != stPaid || !s.running() {
			continue
		}
		f := m.idleFacts(s)
		switch NightlyPlan(f, m.now, at, s.nightPlan, m.policy) {
		case StepWarn:
			m.touch(s)
			s.nightPlan = true
			out = append(out, Effect{Kind: Renewing, At: m.now, Device: m.device, User: k.user, Product: k.product, Reason: Idle,
				Key: s.window.Key, Until: at, Tokens: m.ent(k.user).Rates[k.product], IdleSince: f.Since()})
		case StepClose:
			m.touch(s)
			s.nightPlan = false
			out = m.idleClose(k, s, f, out)
		default:
			if !m.now.Before(at) && s.nightPlan {
				m.touch(s)
				s.nightPlan = false
			}
		}
	}
	return m.fire(out)
}
