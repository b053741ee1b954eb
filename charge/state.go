package charge

import (
	"slices"
	"time"
)

// State is everything a Meter knows, as plain data, so that an agent can checkpoint it
// into its journal and rebuild the same Meter after a restart.
type State struct {
	Device   string         `json:"device"`
	Policy   Policy         `json:"policy"`
	Init     bool           `json:"init"`
	Now      time.Time      `json:"now"`
	Mono     time.Duration  `json:"mono"`
	LastWall time.Time      `json:"last_wall"`
	Shift    time.Duration  `json:"shift,omitempty"`
	Pruned   time.Time      `json:"pruned"`
	Sessions []SessionState `json:"sessions,omitempty"`
	Denied   []string       `json:"denied,omitempty"`
	Use      []UseState     `json:"use,omitempty"`
	Windows  []Window       `json:"windows,omitempty"`
	Asleep   []Proc         `json:"asleep,omitempty"`
	Sleeping bool           `json:"sleeping,omitempty"`
	Inputs   []InputState   `json:"inputs,omitempty"`
}

// InputState is a user's input idleness as last reported.
type InputState struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
	Last time.Time `json:"last"`
}

// SessionState is one open session.
type SessionState struct {
	User     string        `json:"user"`
	Product  string        `json:"product"`
	Team     string        `json:"team"`
	Start    time.Time     `json:"start"`
	Procs    []string      `json:"procs"`
	State    Phase         `json:"state"`
	Rate     int64         `json:"rate"`
	Held     bool          `json:"held,omitempty"`
	Hold     string        `json:"hold,omitempty"`
	Window   Window        `json:"window,omitzero"`
	SubUntil time.Time     `json:"sub_until,omitzero"`
	GapFrom  time.Time     `json:"gap_from,omitzero"`
	CloseAt  time.Time     `json:"close_at,omitzero"`
	Reason   Reason        `json:"reason,omitempty"`
	Warned   bool          `json:"warned,omitempty"`
	Use      time.Duration `json:"use"`

	Busy      time.Time `json:"busy,omitzero"`
	IdlePlan  bool      `json:"idle_plan,omitempty"`
	NightPlan bool      `json:"night_plan,omitempty"`
	IdleSince time.Time `json:"idle_since,omitzero"`
	Saves     int64     `json:"saves,omitempty"`
}

// UseState is the uncharged use of one (user, product).
type UseState struct {
	User    string          `json:"user"`
	Product string          `json:"product"`
	Ends    []time.Time     `json:"ends"`
	Lengths []time.Duration `json:"lengths"`
}

// Phase is where a session stands, as status, the checkpoint and the simulator name it.
// The words are the checkpoint's format on disk and status's on the wire.
type Phase string

const (
	PhaseGrace        Phase = "grace"        // in its free minutes; tokens held
	PhasePaid         Phase = "paid"         // inside a paid window
	PhaseSubscription Phase = "subscription" // covered by a subscription
	PhaseClosing      Phase = "closing"      // the pool cannot renew it: it closes at Until
	PhaseClosed       Phase = "closed"       // closed by the agent; kept until its processes end
	PhaseIdleClosing  Phase = "idle_closing" // idle at its renewal: asked to close, renewed if it stays open
)

var stateNames = map[state]Phase{stGrace: PhaseGrace, stPaid: PhasePaid, stSub: PhaseSubscription, stClosing: PhaseClosing, stClosed: PhaseClosed, stIdleClosing: PhaseIdleClosing}

// Save returns the Meter's state.
func (m *Meter) Save() State {
	st := State{Device: m.device, Policy: m.policy, Init: m.init, Now: m.now, Mono: m.mono, LastWall: m.lastWall, Shift: m.shift,
		Pruned: m.pruned, Asleep: slices.Clone(m.asleep), Sleeping: m.sleeping, Denied: sortedKeys(m.denied)}
	for _, k := range m.keys() {
		s := m.sessions[k]
		m.sync(s)
		st.Sessions = append(st.Sessions, SessionState{User: k.user, Product: k.product, Team: s.team, Start: s.start,
			Procs: sortedKeys(s.procs), State: stateNames[s.state], Rate: s.rate, Held: s.held, Hold: s.hold, Window: s.window,
			SubUntil: s.subUntil, GapFrom: s.gapFrom, CloseAt: s.closeAt, Reason: s.reason, Warned: s.warned, Use: s.use,
			Busy: s.busy, IdlePlan: s.idlePlan, NightPlan: s.nightPlan, IdleSince: s.idleSince, Saves: s.saves})
	}
	for _, u := range sortedKeys(m.inputs) {
		st.Inputs = append(st.Inputs, InputState{User: u, At: m.inputs[u].at, Last: m.inputs[u].last})
	}
	for _, k := range sortedUps(m.used) {
		u := UseState{User: k.user, Product: k.product}
		for _, c := range m.used[k] {
			u.Ends, u.Lengths = append(u.Ends, c.end), append(u.Lengths, c.d)
		}
		st.Use = append(st.Use, u)
	}
	for _, k := range sortedUps(m.windows) {
		st.Windows = append(st.Windows, m.windows[k]...)
	}
	return st
}

// Restore rebuilds a Meter from a saved state.
func Restore(st State) *Meter {
	m := NewMeter(st.Device, st.Policy)
	m.init, m.now, m.mono, m.lastWall, m.shift, m.pruned = st.Init, st.Now, st.Mono, st.LastWall, st.Shift, st.Pruned
	m.asleep, m.sleeping = slices.Clone(st.Asleep), st.Sleeping
	for _, id := range st.Denied {
		m.denied[id] = true
	}
	for _, ss := range st.Sessions {
		k := up{ss.User, ss.Product}
		s := &session{team: ss.Team, start: ss.Start, procs: map[string]bool{}, rate: ss.Rate, held: ss.Held, hold: ss.Hold,
			window: ss.Window, subUntil: ss.SubUntil, gapFrom: ss.GapFrom, closeAt: ss.CloseAt, reason: ss.Reason, warned: ss.Warned, use: ss.Use,
			busy: ss.Busy, idlePlan: ss.IdlePlan, nightPlan: ss.NightPlan, idleSince: ss.IdleSince, saves: ss.Saves, k: k, idx: -1}
		for st, name := range stateNames {
			if name == ss.State {
				s.state = st
			}
		}
		for _, id := range ss.Procs {
			s.procs[id] = true
			m.procs[id] = k
		}
		m.sessions[k] = s
		m.touch(s)
	}
	for _, in := range st.Inputs {
		m.inputs[in.User] = input{at: in.At, last: in.Last}
	}
	for _, u := range st.Use {
		k := up{u.User, u.Product}
		// Checkpoints written before chunks were merged hold one chunk per tick: they are
		// merged here, which leaves every trailing sum as it was.
		for i := range u.Ends {
			m.addUse(k, u.Ends[i], u.Lengths[i])
		}
	}
	for _, w := range st.Windows {
		m.learn(up{w.Key.User, w.Key.Product}, w)
	}
	m.flush() // the deadline heap, built now rather than on the first call
	return m
}

// Procs lists the processes the meter counts as running, for reconciling with the OS
// after a restart.
func (m *Meter) Procs() []Proc {
	out := make([]Proc, 0, len(m.procs))
	for _, id := range sortedKeys(m.procs) {
		k := m.procs[id]
		out = append(out, Proc{ID: id, User: k.user, Product: k.product})
	}
	return out
}

func sortedUps[V any](m map[up]V) []up {
	ks := make([]up, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, upCmp)
	return ks
}
