package charge_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"tollgate/charge"
)

// TestSaveRestore runs the same random day twice, once straight and once saving,
// encoding and restoring the meter after every step, as an agent that restarts after
// every event would: the effects must be the same.
func TestSaveRestore(t *testing.T) {
	for seed := range uint64(200) {
		straight := playDay(t, seed, false)
		restarted := playDay(t, seed, true)
		if !reflect.DeepEqual(straight, restarted) {
			t.Fatalf("seed %d: got effects\n%v\nafter restarts, want\n%v", seed, restarted, straight)
		}
	}
}

func playDay(t *testing.T, seed uint64, restart bool) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	w := newWorld(t, 200, charge.Policy{RenewalWhenEmpty: []charge.WhenEmpty{charge.EmptyOverdraw, charge.EmptyClose}[r.IntN(2)]})
	var log []string
	var running []string
	for step := range 60 {
		switch r.IntN(6) {
		case 0, 1:
			id := fmt.Sprint("p", step)
			w.open(id, []string{"revit", "autocad"}[r.IntN(2)])
			running = append(running, id)
		case 2:
			if len(running) > 0 {
				i := r.IntN(len(running))
				w.close(running[i])
				running = append(running[:i], running[i+1:]...)
			}
		case 3:
			w.apply(w.m.Sleep(w.reading(), w))
			w.wall = w.wall.Add(time.Duration(r.IntN(600)) * time.Minute)
			w.apply(w.m.Wake(w.reading(), w))
		case 4:
			w.wall = w.wall.Add(-time.Duration(r.IntN(120)) * time.Minute)
		}
		w.pass(time.Duration(r.IntN(int(8 * time.Hour))))
		if restart {
			b, err := json.Marshal(w.m.Save())
			if err != nil {
				t.Fatal(err)
			}
			var st charge.State
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			w.m = charge.Restore(st)
		}
	}
	for _, f := range w.effs {
		log = append(log, fmt.Sprintf("%s %s %s %s %d", f.At.Format(time.RFC3339Nano), f.Kind, f.Product, f.Key, f.Tokens))
	}
	return log
}
