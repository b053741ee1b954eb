package charge_test

import (
	"slices"
	"testing"
	"time"

	"tollgate/charge"
)

// told answers the meter with whatever the test last set: a user's snapshot.
type told struct{ e charge.Entitlement }

func (x *told) Entitlement(string) charge.Entitlement { return x.e }

// TestRecheckInGrace: a new snapshot taken a minute into a grace re-decides the session
// before the charge (rules.md, "An admin's word during a grace"), and a commit never
// charges a user it knows to be barred.
func TestRecheckInGrace(t *testing.T) {
	tests := []struct {
		name      string
		change    func(e *charge.Entitlement)
		recheck   bool          // told by Recheck; else only the commit sees the change
		wantKinds []charge.Kind // what the change (or the commit) brings
		wantState charge.Phase  // the session after
		wantWhy   charge.Reason // a refused new process's reason, when the session is closed
	}{
		{"restricted", func(e *charge.Entitlement) { e.UserProducts = charge.Products{"autocad"} }, true,
			[]charge.Kind{charge.Released, charge.Close}, "closing", charge.ProductRestricted},
		{"unassigned", func(e *charge.Entitlement) { e.Assigned = false }, true,
			[]charge.Kind{charge.Released, charge.Close}, "closing", charge.NotAssigned},
		{"subscribed", func(e *charge.Entitlement) {
			e.Subscriptions = []charge.Subscription{{Product: "revit", From: monday.Add(time.Minute)}}
		}, true, []charge.Kind{charge.Released, charge.Opened}, "subscription", ""},
		{"nothing changed", func(*charge.Entitlement) {}, true, nil, "grace", ""},
		{"restricted, seen only at the commit", func(e *charge.Entitlement) { e.UserProducts = charge.Products{"autocad"} }, false,
			[]charge.Kind{charge.Released, charge.Close}, "closing", charge.ProductRestricted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ents := &told{charge.Entitlement{User: "mary", Team: "studio", Assigned: true, Rates: rates, Available: 100, AsOf: monday}}
			m := charge.NewMeter("ws1", charge.Policy{})
			at := func(d time.Duration) charge.Reading { return charge.Reading{Wall: monday.Add(d), Mono: d} }
			m.Advance(at(0), ents)
			if d, _ := m.Start(at(0), charge.Proc{ID: "p1", User: "mary", Product: "revit"}, ents); d.Reason != charge.InGrace {
				t.Fatalf("got %+v, want a grace", d)
			}
			tt.change(&ents.e)
			ents.e.AsOf = monday.Add(time.Minute)
			var effs []charge.Effect
			if tt.recheck {
				effs = m.Recheck(at(time.Minute), "mary", ents)
			} else {
				effs = m.Advance(at(6*time.Minute), ents)
			}
			var kinds []charge.Kind
			for _, f := range effs {
				if f.Kind == charge.Charged {
					t.Errorf("got a charge %+v, want none", f)
				}
				kinds = append(kinds, f.Kind)
				if f.Kind == charge.Close && (f.Reason != tt.wantWhy || !slices.Equal(f.Procs, []string{"p1"})) {
					t.Errorf("got close %+v, want p1 closed for %s", f, tt.wantWhy)
				}
			}
			if !slices.Equal(kinds, tt.wantKinds) {
				t.Errorf("got effects %v, want %v", kinds, tt.wantKinds)
			}
			if ss := m.Sessions(); len(ss) != 1 || ss[0].State != tt.wantState {
				t.Errorf("got sessions %+v, want one in state %s", ss, tt.wantState)
			}
			if tt.wantWhy != "" {
				if d := m.Check("mary", "revit", ents); d.Allowed || d.Reason != tt.wantWhy {
					t.Errorf("got check %+v, want denied %s", d, tt.wantWhy)
				}
				d, _ := m.Start(at(6*time.Minute), charge.Proc{ID: "p2", User: "mary", Product: "revit"}, ents)
				if d.Allowed || d.Reason != tt.wantWhy {
					t.Errorf("got a new process %+v, want it refused for %s", d, tt.wantWhy)
				}
			}
			// Restored from a checkpoint, the meter says the same.
			if got := charge.Restore(m.Save()).Check("mary", "revit", ents); got.Reason != m.Check("mary", "revit", ents).Reason {
				t.Errorf("restored check says %s, want %s", got.Reason, m.Check("mary", "revit", ents).Reason)
			}
		})
	}
}
