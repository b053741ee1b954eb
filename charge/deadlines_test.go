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
