package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

// TestNextAfterHandover: a process that rejoins its session within the merge gap counts
// the gap as use, which brings the grace's end nearer; Next must say so even when another
// session's grace ends a little later.
func TestNextAfterHandover(t *testing.T) {
	w := newWorld(t, 200, charge.Policy{})
	w.open("a", "autocad")
	w.close("a")
	w.pass(350 * time.Millisecond)
	d, effs := w.m.Start(w.reading(), charge.Proc{ID: "b", User: "ann", Product: "autocad"}, w)
	w.apply(effs)
	if !d.Allowed {
		t.Fatalf("ann: got %s, want allowed", d.Reason)
	}
	w.pass(3 * time.Second)
	w.open("c", "autocad") // mary again, 3.35 s after she left: the same session
	got, ok := w.m.Next()
	if want := monday.Add(charge.Grace); !ok || !got.Equal(want) {
		t.Fatalf("got next %v (%v), want %v: mary's grace, which counts the gap", got, ok, want)
	}
	w.pass(got.Sub(w.wall))
	var charged []string
	for _, f := range w.effs {
		if f.Kind == charge.Charged {
			charged = append(charged, f.Key.User)
		}
	}
	if len(charged) != 1 || charged[0] != "mary" {
		t.Fatalf("got charges for %v at %v, want mary's alone", charged, w.wall)
	}
}

// TestRestorePerTickUse: checkpoints written before grace chunks were merged hold one
// chunk per tick; they must restore to a meter that charges as the saved one would.
func TestRestorePerTickUse(t *testing.T) {
	w := newWorld(t, 200, charge.Policy{})
	w.open("a", "revit")
	for range 100 {
		w.pass(time.Second)
	}
	st := w.m.Save()
	if len(st.Use) != 1 || len(st.Use[0].Ends) != 1 {
		t.Fatalf("got use %+v, want one merged chunk", st.Use)
	}
	old := st
	old.Use = []charge.UseState{{User: st.Use[0].User, Product: st.Use[0].Product}}
	for i := range 100 {
		old.Use[0].Ends = append(old.Use[0].Ends, monday.Add(time.Duration(i+1)*time.Second))
		old.Use[0].Lengths = append(old.Use[0].Lengths, time.Second)
	}
	for _, tc := range []struct {
		name string
		st   charge.State
	}{{"merged", st}, {"per tick", old}} {
		m := charge.Restore(tc.st)
		if next, _ := m.Next(); !next.Equal(monday.Add(charge.Grace)) {
			t.Errorf("%s: got next %v, want %v", tc.name, next, monday.Add(charge.Grace))
		}
		if got := m.Sessions()[0].GraceLeft; got != 200*time.Second {
			t.Errorf("%s: got grace left %v, want 200s", tc.name, got)
		}
		effs := m.Advance(charge.Reading{Wall: w.wall.Add(10 * time.Minute), Mono: w.mono + 10*time.Minute}, w)
		if len(effs) == 0 || effs[0].Kind != charge.Charged || !effs[0].At.Equal(monday.Add(charge.Grace)) {
			t.Errorf("%s: got %+v, want a charge at %v", tc.name, effs, monday.Add(charge.Grace))
		}
	}
}
