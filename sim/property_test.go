package sim_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/sim"
)

// The property test: thousands of random one-device timelines through sim.Run, each held
// to the oracle of oracle_test.go and to invariants of the ledger. Seeds are fixed, so a
// failure reproduces; it is reported with its seed and a shrunk timeline in YAML that
// `tollgate simulate` replays.

// world is a generated timeline, kept in a form that is easy to shrink and to give to the
// oracle; timeline and yaml render it.
type world struct {
	prods  []genProd
	users  []string
	subs   []genSub
	packs  []genPack
	procs  []genProc
	clocks []genClock
	sleeps []span    // the device asleep
	caps   []sim.Cap // set at the first event (property_caps_test.go)
}

type genProd struct {
	id   string
	rate int64
}

type genSub struct {
	user, product string
	span
}

// genPack is a pack of the single team "t": listed in packs when at is zero, else bought
// by a buy event at at.
type genPack struct {
	id     string
	tokens int64
	bought time.Time
	at     time.Time
}

type genProc struct {
	id, user, product string
	span
}

type genClock struct {
	at time.Time
	by time.Duration
}

const (
	genDevice = "ws1"
	genTeam   = "t"
)

// generate draws a timeline of 1 to 3 weeks on one online device: 1-3 users, 1-3
// products, processes shaped to hit the rules' edges (4m59s/5m/5m1s, handovers with gaps
// of 0-15 s, short uses spread over a day, returns a day later, sessions over 24 h),
// subscriptions starting or ending at those edges, backward clock jumps, sleep, and packs.
// With scarce false the team has far more tokens than it can spend, so no launch is ever
// denied; with scarce true it starts with 100-150 tokens (sometimes in a pack that expires
// during the timeline) and buys up to three packs of 100-200, so launches are denied and
// renewals overdraw. It keeps clear of the disagreements TestEdges holds (see valid).
func generate(r *rand.Rand, scarce bool) world {
	sec := func(lo, hi time.Duration) time.Duration { // a whole number of seconds in [lo, hi]
		return lo + time.Duration(r.Int64N(int64((hi-lo)/time.Second)+1))*time.Second
	}
	var w world
	epoch := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Add(sec(0, 200*oracleDay))
	length := time.Duration(7+r.IntN(15)) * oracleDay
	when := func() time.Time { return epoch.Add(sec(0, length)) }

	catalogue := []genProd{{"revit", 10}, {"autocad", 7}, {"maya", 3}}
	r.Shuffle(len(catalogue), func(i, j int) { catalogue[i], catalogue[j] = catalogue[j], catalogue[i] })
	w.prods = catalogue[:1+r.IntN(3)]
	for i := range 1 + r.IntN(3) {
		w.users = append(w.users, fmt.Sprintf("u%d", i+1))
	}
	product := func() string { return w.prods[r.IntN(len(w.prods))].id }

	duration := func() time.Duration {
		switch x := r.IntN(100); {
		case x < 25: // the edges of grace
			return []time.Duration{4*time.Minute + 59*time.Second, 5 * time.Minute, 5*time.Minute + time.Second,
				3 * time.Minute, time.Minute, 10 * time.Second}[r.IntN(6)]
		case x < 40:
			return sec(time.Second, 4*time.Minute)
		case x < 70:
			return sec(5*time.Minute, 3*time.Hour)
		case x < 85: // over a window's end
			return sec(20*time.Hour, 50*time.Hour)
		default: // right at a window's end, when the window starts with the process
			return oracleDay + []time.Duration{-time.Second, time.Second, 24*time.Hour + time.Second}[r.IntN(3)]
		}
	}
	gaps := []time.Duration{0, time.Second, 5 * time.Second, 9 * time.Second, 10 * time.Second,
		11 * time.Second, 15 * time.Second, -30 * time.Second}
	add := func(user, prod string, from time.Time, d time.Duration) time.Time {
		w.procs = append(w.procs, genProc{id: fmt.Sprintf("%s.%d", user, len(w.procs)), user: user, product: prod,
			span: span{from, from.Add(d)}})
		return from.Add(d)
	}
	for _, u := range w.users {
		for range 2 + r.IntN(7) {
			p, from := product(), when()
			switch x := r.IntN(100); {
			case x < 55:
				add(u, p, from, duration())
			case x < 75: // a launcher handing over to the real process, or a quick reopen
				for range 2 + r.IntN(2) {
					from = add(u, p, from, duration()).Add(gaps[r.IntN(len(gaps))])
				}
			case x < 82: // short uses spread over a day: grace is cumulative
				for range 3 + r.IntN(3) {
					add(u, p, from, sec(20*time.Second, 150*time.Second))
					from = from.Add(sec(30*time.Minute, 8*time.Hour))
				}
			case x < 90: // back a day later, as earlier use leaves the trailing 24 h or the window ends
				add(u, p, from, []time.Duration{sec(time.Second, 4*time.Minute), sec(5*time.Minute, 10*time.Minute)}[r.IntN(2)])
				add(u, p, from.Add(oracleDay+sec(-6*time.Minute, 6*time.Minute)), sec(time.Second, 6*time.Minute))
			default: // a second process inside the first
				end := add(u, p, from, duration())
				mid := from.Add(time.Duration(r.Int64N(int64(end.Sub(from))/int64(time.Second)+1)) * time.Second)
				add(u, p, mid, duration())
			}
		}
	}
	// Subscriptions, some starting or ending exactly at a process's start or a window's end.
	for _, u := range w.users {
		for range r.IntN(3) {
			if r.IntN(3) > 0 {
				continue
			}
			s := genSub{user: u, product: product()}
			s.from = epoch.Add(sec(-2*oracleDay, length))
			if r.IntN(4) > 0 {
				s.to = s.from.Add(sec(30*time.Minute, 4*oracleDay))
			}
			switch p := w.procs[r.IntN(len(w.procs))]; r.IntN(6) {
			case 0: // ending at an edge
				edge := []time.Time{p.from, p.from.Add(2 * time.Minute), p.from.Add(oracleGrace), p.from.Add(oracleDay), p.to}[r.IntN(5)]
				if r.IntN(2) == 0 || !s.from.Before(edge) {
					s.from = edge.Add(-sec(time.Minute, 3*oracleDay))
				}
				s.to = edge
			case 1: // starting at one
				s.from = []time.Time{p.from, p.from.Add(2 * time.Minute), p.from.Add(oracleGrace), p.from.Add(oracleDay)}[r.IntN(4)]
				s.to = s.from.Add(sec(time.Minute, 2*oracleDay))
			}
			w.subs = append(w.subs, s)
		}
	}
	// The device's wall clock jumps back, and is sometimes corrected, never past true time.
	var skew time.Duration
	var jumps []time.Time
	first := slices.MinFunc(w.procs, func(a, b genProc) int { return a.from.Compare(b.from) }).from
	for range r.IntN(4) {
		jumps = append(jumps, first.Add(sec(time.Second, length)))
	}
	slices.SortFunc(jumps, time.Time.Compare)
	for _, at := range jumps {
		by := -sec(time.Second, 30*time.Hour)
		if skew < 0 && r.IntN(3) == 0 {
			by = sec(time.Second, -skew)
		}
		skew += by
		w.clocks = append(w.clocks, genClock{at, by})
	}
	// The device sleeps now and then, sometimes for mere seconds.
	var naps []time.Time
	for range r.IntN(3) {
		naps = append(naps, when())
	}
	slices.SortFunc(naps, time.Time.Compare)
	for _, at := range naps {
		if n := len(w.sleeps); n > 0 && !at.After(w.sleeps[n-1].to) {
			continue
		}
		d := sec(time.Second, 14*time.Hour)
		if r.IntN(3) == 0 {
			d = sec(time.Second, 12*time.Second)
		}
		// Not with the clock behind: the device would wake behind (TestEdges).
		if z := (span{at, at.Add(d)}); w.skew(z.from) == 0 && w.skew(z.to) == 0 {
			w.sleeps = append(w.sleeps, z)
		}
	}
	w = w.untie()
	if !scarce {
		w.packs = []genPack{{id: "k0", tokens: 100_000, bought: epoch.Add(-30 * oracleDay)}}
		return w
	}
	k0 := genPack{id: "k0", tokens: 100 + r.Int64N(51), bought: epoch.Add(-10 * oracleDay)}
	if r.IntN(2) == 0 {
		// It expires during the timeline, but not under a grace: the hold would not
		// survive it (TestEdges holds that case).
		for range 20 {
			exp := first.Add(sec(time.Hour, length))
			if !slices.ContainsFunc(w.procs, func(p genProc) bool {
				return !p.from.After(exp) && p.to.After(exp.Add(-oracleGrace-time.Minute))
			}) {
				k0.bought = exp.AddDate(-1, 0, 0)
				break
			}
		}
	}
	w.packs = []genPack{k0}
	for i := range r.IntN(4) {
		at := when()
		w.packs = append(w.packs, genPack{id: fmt.Sprintf("k%d", i+1), tokens: 100 + r.Int64N(101), bought: at, at: at})
	}
	return w
}

// valid reports whether w keeps to the shape generate gives timelines, which shrinking
// must keep too: every clock jump comes after the device's first process started, the
// clock is never ahead, the device never wakes with its clock behind, every pack listed
// is still live at the first event, and no session ends exactly when its window does.
func (w world) valid() bool {
	if len(w.events()) == 0 {
		return false
	}
	// A wall clock moved forward moves the meter's time forward (docs/rules.md), which the
	// oracle does not model; backward jumps, ties at a window's end, expiries and sleep
	// with a skewed clock are all fair game.
	var skew time.Duration
	for _, c := range w.clocks {
		if skew += c.by; skew > 0 {
			return false
		}
	}
	return true
}

// skew is how far the device's wall clock is off at t, after the jumps at or before t.
func (w world) skew(t time.Time) time.Duration {
	var d time.Duration
	for _, c := range w.clocks {
		if !c.at.After(t) {
			d += c.by
		}
	}
	return d
}

// timeline renders w as the simulator's input, as sim.Parse would build it.
func (w world) timeline() *sim.Timeline {
	tl := &sim.Timeline{Teams: []sim.Team{{ID: genTeam}}}
	for _, p := range w.prods {
		tl.Products = append(tl.Products, sim.Product{ID: p.id, Rate: p.rate})
	}
	for _, u := range w.users {
		su := sim.User{ID: u, Team: genTeam}
		for _, s := range w.subs {
			if s.user == u {
				su.Subscriptions = append(su.Subscriptions, sim.Subscription{Product: s.product, From: sim.Time{Time: s.from}, Until: sim.Time{Time: s.to}})
			}
		}
		tl.Users = append(tl.Users, su)
	}
	for _, p := range w.packs {
		k := sim.Pack{ID: p.id, Team: genTeam, Tokens: p.tokens, Bought: sim.Time{Time: p.bought}}
		if p.at.IsZero() {
			tl.Packs = append(tl.Packs, k)
		}
	}
	for _, ev := range w.events() {
		tl.Events = append(tl.Events, ev.Event)
	}
	return tl
}

// genEvent is an event with what orders it among events at the same instant.
type genEvent struct {
	sim.Event
	order int
}

// events lists w's events in time order. At one instant: buys, then ends, then clock
// jumps, sleeps and wakes, then starts, each in the order generated.
func (w world) events() []genEvent {
	var evs []genEvent
	for _, p := range w.packs {
		if !p.at.IsZero() {
			evs = append(evs, genEvent{sim.Event{At: sim.Time{Time: p.at}, Buy: &sim.Pack{ID: p.id, Team: genTeam, Tokens: p.tokens}}, 0})
		}
	}
	for _, p := range w.procs {
		evs = append(evs,
			genEvent{sim.Event{At: sim.Time{Time: p.to}, Device: genDevice, User: p.user, Proc: p.id, End: p.product}, 1},
			genEvent{sim.Event{At: sim.Time{Time: p.from}, Device: genDevice, User: p.user, Proc: p.id, Start: p.product}, 3})
	}
	for _, c := range w.clocks {
		by := sim.Duration(c.by)
		evs = append(evs, genEvent{sim.Event{At: sim.Time{Time: c.at}, Device: genDevice, Clock: &by}, 2})
	}
	for _, z := range w.sleeps {
		evs = append(evs,
			genEvent{sim.Event{At: sim.Time{Time: z.from}, Device: genDevice, Sleep: true}, 2},
			genEvent{sim.Event{At: sim.Time{Time: z.to}, Device: genDevice, Wake: true}, 2})
	}
	slices.SortStableFunc(evs, func(a, b genEvent) int {
		return cmp.Or(a.At.Compare(b.At.Time), cmp.Compare(a.order, b.order))
	})
	if len(evs) > 0 && len(w.caps) > 0 {
		caps := make([]genEvent, len(w.caps))
		for i := range w.caps {
			caps[i] = genEvent{sim.Event{At: evs[0].At, Budget: &w.caps[i]}, 0}
		}
		evs = append(caps, evs...)
	}
	return evs
}

// yaml renders w as a timeline file.
func (w world) yaml() string {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var b strings.Builder
	b.WriteString("products:\n")
	for _, p := range w.prods {
		fmt.Fprintf(&b, "  - {id: %s, rate: %d}\n", p.id, p.rate)
	}
	fmt.Fprintf(&b, "teams:\n  - {id: %s}\n", genTeam)
	b.WriteString("packs:\n")
	for _, p := range w.packs {
		if p.at.IsZero() {
			fmt.Fprintf(&b, "  - {id: %s, team: %s, tokens: %d, bought: %s}\n", p.id, genTeam, p.tokens, ts(p.bought))
		}
	}
	b.WriteString("users:\n")
	for _, u := range w.users {
		fmt.Fprintf(&b, "  - id: %s\n    team: %s\n", u, genTeam)
		var subs []string
		for _, s := range w.subs {
			if s.user != u {
				continue
			}
			until := ""
			if !s.to.IsZero() {
				until = ", until: " + ts(s.to)
			}
			subs = append(subs, fmt.Sprintf("{product: %s, from: %s%s}", s.product, ts(s.from), until))
		}
		if len(subs) > 0 {
			fmt.Fprintf(&b, "    subscriptions: [%s]\n", strings.Join(subs, ", "))
		}
	}
	b.WriteString("events:\n")
	for _, ev := range w.events() {
		switch {
		case ev.Buy != nil:
			fmt.Fprintf(&b, "  - {at: %s, buy: {id: %s, team: %s, tokens: %d}}\n", ts(ev.At.Time), ev.Buy.ID, ev.Buy.Team, ev.Buy.Tokens)
		case ev.Budget != nil:
			c := ev.Budget
			fmt.Fprintf(&b, "  - {at: %s, budget: {team: %s, user: %q, product: %q, period: %s, tokens: %d}}\n", ts(ev.At.Time), c.Team, c.User, c.Product, c.Period, c.Tokens)
		case ev.Clock != nil:
			fmt.Fprintf(&b, "  - {at: %s, device: %s, clock: %s}\n", ts(ev.At.Time), ev.Device, time.Duration(*ev.Clock))
		case ev.Sleep:
			fmt.Fprintf(&b, "  - {at: %s, device: %s, sleep: true}\n", ts(ev.At.Time), ev.Device)
		case ev.Wake:
			fmt.Fprintf(&b, "  - {at: %s, device: %s, wake: true}\n", ts(ev.At.Time), ev.Device)
		case ev.Start != "":
			fmt.Fprintf(&b, "  - {at: %s, device: %s, user: %s, proc: %s, start: %s}\n", ts(ev.At.Time), ev.Device, ev.User, ev.Proc, ev.Start)
		default:
			fmt.Fprintf(&b, "  - {at: %s, device: %s, user: %s, proc: %s, end: %s}\n", ts(ev.At.Time), ev.Device, ev.User, ev.Proc, ev.End)
		}
	}
	return b.String()
}

type userProd struct{ user, product string }

// want is the oracle's answer for every (user, product) of w, and the instants at which
// a session of it ends exactly when its window does.
func (w world) want() (map[userProd][]paid, map[userProd][]time.Time) {
	out, ties := map[userProd][]paid{}, map[userProd][]time.Time{}
	for _, u := range w.users {
		for _, p := range w.prods {
			var procs, subs []span
			for _, x := range w.procs {
				if x.user == u && x.product == p.id {
					procs = append(procs, x.span)
				}
			}
			for _, s := range w.subs {
				if s.user == u && s.product == p.id {
					subs = append(subs, s.span)
				}
			}
			k := userProd{u, p.id}
			ws, ts := oracle(procs, subs, w.sleeps, p.rate)
			if len(ws) > 0 {
				out[k] = ws
			}
			if len(ts) > 0 {
				ties[k] = ts
			}
		}
	}
	return out, ties
}

// untie moves the end of every session that ends exactly when its window does one second
// later. The simulator renews such a session and the oracle does not (TestEdges holds
// that case); the property test keeps clear of it so that it can find anything else.
func (w world) untie() world {
	for range 10 {
		_, ties := w.want()
		if len(ties) == 0 {
			break
		}
		w.procs = slices.Clone(w.procs)
		for k, ts := range ties {
			for i, p := range w.procs {
				if p.user == k.user && p.product == k.product && slices.ContainsFunc(ts, p.to.Equal) {
					w.procs[i].to = p.to.Add(time.Second)
				}
			}
		}
	}
	return w
}

// without removes from w what was denied: a process denied at its launch, or at a wake
// (a process started during the sleep, or the part after the sleep of one that ran into
// it; sleep had ended its session already).
func (w world) without(denied []sim.Line) world {
	procs := slices.Clone(w.procs)
	for _, l := range denied {
		of := func(p genProc) bool { return p.user == l.User && p.product == l.Product }
		if i := slices.IndexFunc(procs, func(p genProc) bool { return of(p) && p.from.Equal(l.At) }); i >= 0 {
			procs = slices.Delete(procs, i, i+1)
			continue
		}
		j := slices.IndexFunc(w.sleeps, func(z span) bool { return z.to.Equal(l.At) })
		if j < 0 {
			continue // check reports the denial when it recurs
		}
		z := w.sleeps[j]
		if i := slices.IndexFunc(procs, func(p genProc) bool {
			return of(p) && !p.from.Before(z.from) && p.from.Before(z.to) && p.to.After(z.to)
		}); i >= 0 {
			procs = slices.Delete(procs, i, i+1)
			continue
		}
		if i := slices.IndexFunc(procs, func(p genProc) bool { return of(p) && p.from.Before(z.from) && p.to.After(z.to) }); i >= 0 {
			procs[i].to = z.from
		}
	}
	w.procs = procs
	return w
}

// check runs w and returns every property it breaks, in words.
func check(w world) []string {
	res, err := sim.Run(w.timeline())
	if err != nil {
		return []string{"Run: " + err.Error()}
	}
	bad := invariants(w, res)
	var denied []sim.Line
	for _, l := range res.Lines {
		if l.Kind == "denied" {
			denied = append(denied, l)
		}
	}
	if len(denied) > 0 {
		// The oracle does not model the pool. A denied launch changes nothing else, so the
		// same timeline without the denied processes must run without denials, and that
		// run is held to the oracle.
		if w = w.without(denied); len(w.events()) == 0 {
			return bad
		}
		if res, err = sim.Run(w.timeline()); err != nil {
			return append(bad, "Run without the denied processes: "+err.Error())
		}
		for _, l := range res.Lines {
			if l.Kind == "denied" {
				bad = append(bad, fmt.Sprintf("without the processes denied before, a launch is denied at %s (%s %s): a denial changed what came after it",
					l.At.Format(time.RFC3339), l.User, l.Product))
			}
		}
	}
	return append(bad, againstOracle(w, res)...)
}

// againstOracle compares the accepted charges with the oracle's windows.
func againstOracle(w world, res *sim.Result) []string {
	var bad []string
	got := map[userProd][]paid{}
	for _, c := range res.Charges {
		if c.Status == "accepted" {
			k := userProd{c.Key.User, c.Key.Product}
			got[k] = append(got[k], paid{start: c.Key.Start, tokens: c.Debited, renewal: c.Renewal})
		}
	}
	want, _ := w.want()
	users, prods := map[string]int64{}, map[string]int64{}
	for _, k := range slices.SortedFunc(maps.Keys(want), cmpUserProd) {
		for _, p := range want[k] {
			users[k.user] += p.tokens
			prods[k.product] += p.tokens
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(mergeKeys(got, want)), cmpUserProd) {
		g, o := got[k], want[k]
		slices.SortFunc(g, func(a, b paid) int { return a.start.Compare(b.start) })
		if !slices.Equal(g, o) {
			bad = append(bad, fmt.Sprintf("%s/%s: simulator charged %s; oracle says %s", k.user, k.product, showPaid(g), showPaid(o)))
		}
	}
	if !maps.Equal(nonZero(res.Users), users) {
		bad = append(bad, fmt.Sprintf("tokens per user: got %v, oracle %v", res.Users, users))
	}
	if !maps.Equal(nonZero(res.Prods), prods) {
		bad = append(bad, fmt.Sprintf("tokens per product: got %v, oracle %v", res.Prods, prods))
	}
	return bad
}

// invariants are the properties that hold whether or not launches were denied.
func invariants(w world, res *sim.Result) []string {
	var bad []string
	// Every charge of one online device is taken; windows of a (user, product) never
	// overlap, so at most one charge is accepted per window.
	byKey := map[userProd][]sim.Charge{}
	var sum int64
	for _, c := range res.Charges {
		if c.Status != "accepted" {
			bad = append(bad, fmt.Sprintf("charge %s is %s: one online device never sends a charge the ledger does not take", c.Key, c.Status))
			continue
		}
		k := userProd{c.Key.User, c.Key.Product}
		byKey[k] = append(byKey[k], c)
		sum += c.Debited
	}
	for _, k := range slices.SortedFunc(maps.Keys(byKey), cmpUserProd) {
		cs := byKey[k]
		slices.SortFunc(cs, func(a, b sim.Charge) int { return a.Key.Start.Compare(b.Key.Start) })
		for i := 1; i < len(cs); i++ {
			if cs[i].Key.Start.Before(cs[i-1].Key.Start.Add(oracleDay)) {
				bad = append(bad, fmt.Sprintf("%s/%s: windows from %s and %s overlap", k.user, k.product,
					cs[i-1].Key.Start.Format(time.RFC3339), cs[i].Key.Start.Format(time.RFC3339)))
			}
		}
		// No charge while the use in every trailing 24 h stays under 5 minutes.
		var procs []span
		for _, p := range w.procs {
			if p.user == k.user && p.product == k.product {
				procs = append(procs, p.span)
			}
		}
		if u := maxTrailingUse(procs, w.sleeps); u < oracleGrace {
			bad = append(bad, fmt.Sprintf("%s/%s: charged %d times, but at most %v of use in any 24 h", k.user, k.product, len(cs), u))
		}
	}
	if s := sumOf(res.Users); s != sum {
		bad = append(bad, fmt.Sprintf("tokens per user add up to %d, accepted charges to %d", s, sum))
	}
	if s := sumOf(res.Prods); s != sum {
		bad = append(bad, fmt.Sprintf("tokens per product add up to %d, accepted charges to %d", s, sum))
	}
	if len(res.Running) > 0 {
		bad = append(bad, fmt.Sprintf("%d sessions still running after every process ended", len(res.Running)))
	}

	// The balance, bought - spent - forfeited, goes below zero only through an overdrawn
	// renewal: a launch needs the rate available, and its hold keeps those tokens for it.
	// A subscription that ends under a running session is treated as a renewal by the
	// simulator (docs/rules.md): its grace overdraws too. A charge that falls after an
	// overdrawn renewal may find its held tokens spent by it, and overdraw in turn.
	var net int64
	var charged int
	renewedInto := false
	for _, p := range w.packs {
		if p.at.IsZero() {
			net += p.tokens
		}
	}
	for _, l := range res.Lines {
		switch l.Kind {
		case "bought":
			net += l.Tokens
		case "forfeited":
			net -= l.Tokens
		case "charged":
			if charged >= len(res.Charges) {
				break
			}
			c := res.Charges[charged]
			charged++
			net -= l.Tokens
			overdraw := strings.Contains(l.Text, "overdrawing")
			afterSub := slices.ContainsFunc(w.subs, func(s genSub) bool {
				return s.user == c.Key.User && s.product == c.Key.Product && s.to.Equal(c.Key.Start)
			})
			renewedInto = renewedInto || overdraw && (c.Renewal || afterSub)
			switch {
			case net < 0 && !overdraw:
				bad = append(bad, fmt.Sprintf("%s: the balance fell to %d through a charge not marked overdraw: %s", l.At.Format(time.RFC3339), net, l.Text))
			case net < 0 && !renewedInto:
				bad = append(bad, fmt.Sprintf("%s: the balance fell to %d with no overdrawn renewal before: %s", l.At.Format(time.RFC3339), net, l.Text))
			}
		}
	}
	if charged != len(res.Charges) {
		bad = append(bad, fmt.Sprintf("%d charged lines, %d charges taken", charged, len(res.Charges)))
	}

	// Conservation: what was bought, less what was spent and forfeited, is what is left
	// less the debt; with every session ended no tokens are held, so it is also what is
	// available.
	var bought int64
	for _, p := range w.packs {
		bought += p.tokens
	}
	for _, b := range res.Teams {
		if b.Team != genTeam {
			bad = append(bad, "unknown team "+b.Team)
			continue
		}
		if b.Spent != sum {
			bad = append(bad, fmt.Sprintf("team spent %d, accepted charges add up to %d", b.Spent, sum))
		}
		if left := bought - b.Spent - b.Forfeited; left != b.Unexpired-b.Debt || left != b.Available || left != net {
			bad = append(bad, fmt.Sprintf("bought %d - spent %d - forfeited %d = %d, but unexpired %d - debt %d = %d, available %d, balance from the lines %d",
				bought, b.Spent, b.Forfeited, left, b.Unexpired, b.Debt, b.Unexpired-b.Debt, b.Available, net))
		}
	}
	return bad
}

// shrink removes processes, subscriptions, clock jumps, packs bought later, users and
// products from w for as long as it still breaks a property.
func shrink(w world) world {
	for {
		v, ok := smaller(w)
		if !ok {
			return w
		}
		w = v
	}
}

// smaller returns the first world one item smaller than w that still fails.
func smaller(w world) (world, bool) {
	var vs []world
	for i := range w.procs {
		v := w
		v.procs = slices.Delete(slices.Clone(w.procs), i, i+1)
		vs = append(vs, v)
	}
	for i := range w.subs {
		v := w
		v.subs = slices.Delete(slices.Clone(w.subs), i, i+1)
		vs = append(vs, v)
	}
	for i := range w.clocks {
		v := w
		v.clocks = slices.Delete(slices.Clone(w.clocks), i, i+1)
		vs = append(vs, v)
	}
	for i := range w.sleeps {
		v := w
		v.sleeps = slices.Delete(slices.Clone(w.sleeps), i, i+1)
		vs = append(vs, v)
	}
	for i := 1; i < len(w.packs); i++ {
		v := w
		v.packs = slices.Delete(slices.Clone(w.packs), i, i+1)
		vs = append(vs, v)
	}
	for i, u := range w.users {
		if !slices.ContainsFunc(w.procs, func(p genProc) bool { return p.user == u }) {
			v := w
			v.users = slices.Delete(slices.Clone(w.users), i, i+1)
			v.subs = slices.DeleteFunc(slices.Clone(w.subs), func(s genSub) bool { return s.user == u })
			vs = append(vs, v)
		}
	}
	for i, p := range w.prods {
		if !slices.ContainsFunc(w.procs, func(x genProc) bool { return x.product == p.id }) {
			v := w
			v.prods = slices.Delete(slices.Clone(w.prods), i, i+1)
			v.subs = slices.DeleteFunc(slices.Clone(w.subs), func(s genSub) bool { return s.product == p.id })
			vs = append(vs, v)
		}
	}
	for _, v := range vs {
		if len(v.procs) > 0 && v.valid() && len(check(v)) > 0 {
			return v, true
		}
	}
	return w, false
}

// Timelines in the normal run; every fourth is scarce.
const propertyRuns = 10_000

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x70119a7e)) }

func TestProperties(t *testing.T) {
	failures := 0
	for seed := range uint64(propertyRuns) {
		w := generate(seeded(seed), seed%4 == 3)
		bad := check(w)
		if len(bad) == 0 {
			continue
		}
		small := shrink(w)
		t.Errorf("seed %d (scarce %v): %s\nshrunk: %s\nshrunk timeline:\n%s",
			seed, seed%4 == 3, strings.Join(bad, "\n  "), strings.Join(check(small), "\n  "), small.yaml())
		if failures++; failures == 3 {
			t.Fatal("stopping after 3 failing timelines")
		}
	}
}

// TestGeneratedYAML checks that what a failure prints is the timeline that failed: the
// YAML parses, passes Parse's checks, and runs to the same result as the struct.
func TestGeneratedYAML(t *testing.T) {
	for seed := range uint64(200) {
		w := generate(seeded(seed), seed%4 == 3)
		if !w.valid() {
			t.Fatalf("seed %d: generated a timeline of the wrong shape:\n%s", seed, w.yaml())
		}
		tl, err := sim.Parse("gen.yaml", []byte(w.yaml()))
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, w.yaml())
		}
		got, err := sim.Run(tl)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		want, err := sim.Run(w.timeline())
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if g, w := fmt.Sprint(got.Charges, got.Teams), fmt.Sprint(want.Charges, want.Teams); g != w {
			t.Errorf("seed %d: from YAML got %s, from the struct %s", seed, g, w)
		}
	}
}

func cmpUserProd(a, b userProd) int {
	return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.product, b.product))
}

func mergeKeys[V any](a, b map[userProd]V) map[userProd]bool {
	out := map[userProd]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func nonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func sumOf(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func showPaid(ps []paid) string {
	if len(ps) == 0 {
		return "nothing"
	}
	var parts []string
	for _, p := range ps {
		s := fmt.Sprintf("%s:%d", p.start.UTC().Format(time.RFC3339), p.tokens)
		if p.renewal {
			s += " (renewal)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// TestEdges runs small timelines at the rules' edges through the simulator and the
// oracle. Five are disagreements the property test keeps clear of (see valid): they fail
// until the simulator follows charging.md there.
func TestEdges(t *testing.T) {
	mon := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return mon.Add(d) }
	h, m, s := time.Hour, time.Minute, time.Second
	proc := func(id string, from, to time.Duration) genProc {
		return genProc{id: id, user: "u1", product: "revit", span: span{at(from), at(to)}}
	}
	base := func(procs ...genProc) world {
		return world{
			prods: []genProd{{"revit", 10}},
			users: []string{"u1"},
			packs: []genPack{{id: "k0", tokens: 1000, bought: at(-30 * 24 * h)}},
			procs: procs,
		}
	}
	with := func(w world, f func(*world)) world { f(&w); return w }
	tests := []struct {
		name string
		w    world
	}{
		{
			// Rule 4 renews "a session still running when its window ends". This one
			// ran [09:00 Mon, 09:00 Tue): its window covered all of it. The simulator
			// fires the window's end before the process's exit at the same instant and
			// charges a second window for no use.
			name: "a session ending the instant its window ends is not renewed",
			w:    base(proc("a", 9*h, 33*h)),
		},
		{
			// Rule 9: a wall clock moved backwards changes nothing. A device whose first
			// event is the jump starts its high-water mark at the wrong time, so its
			// windows are keyed 12 hours early (and end 12 hours early).
			name: "a backward clock jump as the device's first event changes nothing",
			w: with(base(proc("a", 9*h, 11*h)), func(w *world) {
				w.clocks = []genClock{{at(8 * h), -12 * h}}
			}),
		},
		{
			// The launch at 09:00 was allowed on the 100 tokens of a pack that expires at
			// 09:02; they are forfeited with the hold on them, and the charge at 09:05
			// overdraws: the balance goes negative without a renewal (rule 7).
			name: "a pack expiring under a grace hold does not overdraw the pool",
			w: with(base(proc("a", 9*h, 10*h)), func(w *world) {
				w.packs = []genPack{{id: "k0", tokens: 100, bought: at(9*h+2*m).AddDate(-1, 0, 0)}}
			}),
		},
		{
			// Rule 9 again: window starts are in the ledger's time. The simulator gives an
			// online device's meter its own wall clock, held up only by the high-water mark;
			// sleep stops the monotonic clock, so the device wakes 9 minutes behind (the
			// length of the sleep, up to the jump) and keys its next window 9 minutes early.
			name: "a backward clock jump, then sleep, changes nothing",
			w: with(base(proc("a", 9*h, 9*h+m), proc("b", 12*h, 13*h)), func(w *world) {
				w.clocks = []genClock{{at(10 * h), -6 * h}}
				w.sleeps = []span{{at(11 * h), at(11*h + 9*m)}}
			}),
		},
		{
			// The subscription ends at 12:00, inside a 9-second handover; from then the
			// session is in grace (rule 1) and the gap counts as use (docs/rules.md), so
			// 12:00-12:05 is 5 minutes of use. The meter adds the gap at the join, while
			// the session is still on the subscription, and loses the 7 seconds after 12:00.
			name: "a subscription ending during a handover gap: grace from its end, the gap counted",
			w: with(base(proc("a", 9*h, 12*h-2*s), proc("b", 12*h+7*s, 12*h+5*m)), func(w *world) {
				w.subs = []genSub{{user: "u1", product: "revit", span: span{at(0), at(12 * h)}}}
			}),
		},
		{
			name: "a backward clock jump mid-session changes nothing",
			w: with(base(proc("a", 9*h, 40*h)), func(w *world) {
				w.clocks = []genClock{{at(20 * h), -30 * h}, {at(34 * h), 29 * h}}
			}),
		},
		{
			name: "a session one second past its window is renewed where the window ended",
			w:    base(proc("a", 9*h, 33*h+s)),
		},
		{
			name: "a 9-second handover across the window's end is renewed",
			w:    base(proc("a", 9*h, 33*h-3*s), proc("b", 33*h+6*s, 34*h)),
		},
		{
			name: "a 10-second gap across the window's end starts a new session in grace",
			w:    base(proc("a", 9*h, 33*h-3*s), proc("b", 33*h+7*s, 34*h)),
		},
		{
			name: "4m59s then 5m0s and 5m1s, a day apart each",
			w:    base(proc("a", 9*h, 9*h+4*m+59*s), proc("b", 40*h, 40*h+5*m), proc("c", 70*h, 70*h+5*m+s)),
		},
		{
			name: "grace adds up across sessions and handover gaps",
			w:    base(proc("a", 9*h, 9*h+2*m), proc("b", 12*h, 12*h+1*m), proc("c", 12*h+m+9*s, 12*h+2*m), proc("d", 15*h, 15*h+m)),
		},
		{
			name: "a subscription ending mid-session, then a renewal",
			w: with(base(proc("a", 9*h, 40*h)), func(w *world) {
				w.subs = []genSub{{user: "u1", product: "revit", span: span{at(0), at(12 * h)}}}
			}),
		},
		{
			// charging.md is silent; docs/rules.md: rule 1 comes first when the grace
			// would commit, so a subscription begun during the grace stops the charge.
			name: "a subscription starting during grace stops the charge",
			w: with(base(proc("a", 9*h, 10*h)), func(w *world) {
				w.subs = []genSub{{user: "u1", product: "revit", span: span{at(9*h + 2*m), at(20 * h)}}}
			}),
		},
		{
			name: "a subscription that starts under a paid window takes over at its end",
			w: with(base(proc("a", 9*h, 60*h)), func(w *world) {
				w.subs = []genSub{{user: "u1", product: "revit", span: span{at(20 * h), at(50 * h)}}}
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bad := check(tt.w); len(bad) > 0 {
				t.Errorf("got %s\nwant the oracle's answer; timeline:\n%s", strings.Join(bad, "\n  "), tt.w.yaml())
			}
		})
	}
}
