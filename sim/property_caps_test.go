package sim_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/sim"
)

// capRuns is how many generated timelines TestPropertiesWithCaps runs.
const capRuns = 1_000

// genCaps draws one to three caps for w's team: on the team, one user or one product,
// per day or month, from nothing to a few days of the dearest product.
func genCaps(r *rand.Rand, w world) []sim.Cap {
	var caps []sim.Cap
	for range 1 + r.IntN(3) {
		c := sim.Cap{Team: genTeam, Period: charge.PerDay, Tokens: int64(r.IntN(6)) * 10}
		if r.IntN(2) == 0 {
			c.Period, c.Tokens = charge.PerMonth, c.Tokens*3
		}
		switch r.IntN(3) {
		case 0:
			c.User = w.users[r.IntN(len(w.users))]
		case 1:
			c.Product = w.prods[r.IntN(len(w.prods))].id
		}
		if !slices.ContainsFunc(caps, func(o sim.Cap) bool { return o.User == c.User && o.Product == c.Product && o.Period == c.Period }) {
			caps = append(caps, c) // a second cap on the same scope and period would replace the first
		}
	}
	return caps
}

// TestPropertiesWithCaps: generated timelines with caps, held to the oracle and the
// invariants as TestProperties does (a launch a cap denies changes nothing else, so the
// timeline without it runs to the oracle's answer), and to the caps' own property: the
// charges that launches start in a cap's period never pass its limit. Renewals under
// the default overdraw are charged past a cap (the use happened), and count against it.
func TestPropertiesWithCaps(t *testing.T) {
	failures, denials := 0, 0
	for seed := range uint64(capRuns) {
		w := generate(seeded(seed), false)
		w.caps = genCaps(seeded(seed+1<<32), w)
		res, err := sim.Run(w.timeline())
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, w.yaml())
		}
		for _, l := range res.Lines {
			if l.Kind == "denied" && l.Reason == string(charge.BudgetExceeded) {
				denials++
			}
		}
		bad := append(capsKept(w, res), check(w)...)
		if len(bad) == 0 {
			continue
		}
		t.Errorf("seed %d: %s\ntimeline:\n%s", seed, strings.Join(bad, "\n  "), w.yaml())
		if failures++; failures == 3 {
			t.Fatal("stopping after 3 failing timelines")
		}
	}
	// The generator must reach the rule it tests.
	if denials < capRuns/10 {
		t.Errorf("got %d launches denied by a cap in %d timelines, want the generator to reach caps in at least a tenth", denials, capRuns)
	}
}

// capsKept checks that no launch took a cap past its limit: when a launch is decided,
// every charge of the cap's scope that started earlier in the period is counted against
// the cap (as a charge, or as a hold if still in grace), so those charges plus the
// launch's own are at most the limit. Renewals are not held to it, nor the grace that
// starts when a subscription ends under a running session (rule 3, which renews like a
// window's end): under overdraw they are charged past a cap.
func capsKept(w world, res *sim.Result) []string {
	var bad []string
	for _, c := range w.caps {
		b := charge.Budget{Team: c.Team, User: c.User, Product: c.Product, Period: c.Period, Tokens: c.Tokens}
		var in []sim.Charge
		for _, ch := range res.Charges {
			if ch.Status == "accepted" && b.Applies(ch.Key.User, ch.Key.Product) {
				in = append(in, ch)
			}
		}
		for _, l := range in {
			if l.Renewal || subEndedAt(w, l.Key) {
				continue
			}
			from := c.Period.Start(l.Key.Start)
			before := int64(0)
			for _, e := range in {
				if e.Key.Start.Before(l.Key.Start) && !e.Key.Start.Before(from) {
					before += e.Debited
				}
			}
			if before+l.Debited > c.Tokens {
				bad = append(bad, fmt.Sprintf("%s: %s's %s launched at %s for %d tokens with %d already used this %s, past its cap of %d",
					b.Scope(), l.Key.User, l.Key.Product, l.Key.Start.Format(time.RFC3339), l.Debited, before, c.Period, c.Tokens))
			}
		}
	}
	return bad
}

// subEndedAt reports whether k's window started when a subscription of its user to its
// product ended, under a running session.
func subEndedAt(w world, k charge.Key) bool {
	return slices.ContainsFunc(w.subs, func(s genSub) bool { return s.user == k.User && s.product == k.Product && s.to.Equal(k.Start) })
}
