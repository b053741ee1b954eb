package platform

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// A process the old filter passed over is reported by the first scan after Retune, if
// the new filter admits it; one already reported is reported as started again, for a
// caller whose catalogue changed, and its exit is still reported.
func TestSourceRetuneRescans(t *testing.T) {
	revit := procRow{pid: 10, hint: 1, created: 100, name: "revit"}
	maya := procRow{pid: 20, hint: 2, created: 200, name: "maya"}
	table := procTable{revit, maya}
	s := newSource(SourceOptions{Filter: func(n string) bool { return n == "revit" }},
		&procTables{tables: []procTable{table, table, {}}})
	ctx := context.Background()
	d, err := s.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Process{procStarted(10, 100, "revit")}; !reflect.DeepEqual(d.Started, want) {
		t.Fatalf("first scan: got started %v, want %v", d.Started, want)
	}
	s.Retune(func(n string) bool { return n == "revit" || n == "maya" }, time.Second)
	d, err = s.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Process{procStarted(10, 100, "revit"), procStarted(20, 200, "maya")}; !reflect.DeepEqual(d.Started, want) || len(d.Exited) > 0 {
		t.Errorf("after Retune: got started %v exited %v, want started %v and nothing exited", d.Started, d.Exited, want)
	}
	d, err = s.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []ProcKey{{PID: 10, Created: 100}, {PID: 20, Created: 200}}; len(d.Started) > 0 || !sameKeys(d.Exited, want) {
		t.Errorf("after both exit: got started %v exited %v, want exited %v", d.Started, d.Exited, want)
	}
	select {
	case <-s.retuned:
	default:
		t.Errorf("got no rescan asked of Run after Retune, want one")
	}
	if got := time.Duration(s.interval.Load()); got != time.Second {
		t.Errorf("got interval %v after Retune, want 1s", got)
	}
}

func sameKeys(got, want []ProcKey) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}
