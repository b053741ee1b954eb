package sim_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tollgate/sim"
)

// TestStreamedOrder: for every timeline the project ships (the examples, the golden
// timelines of `tollgate simulate`, the fuzz corpus and seeds) and for generated days
// (the property test's, with offline devices, sleep, clocks moved both ways and caps),
// the lines streamed come in exactly the order of the held lines sorted stably by time,
// with the same charges and the same totals.
func TestStreamedOrder(t *testing.T) {
	files := map[string][]byte{}
	for _, glob := range []string{"../examples/*.yaml", "../testdata/simulate/*.yaml"} {
		names, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = data
		}
	}
	if len(files) < 15 {
		t.Fatalf("got %d timelines under examples/ and testdata/simulate/, want the 15 or more there are", len(files))
	}
	corpus, err := filepath.Glob("testdata/fuzz/FuzzTimeline/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range corpus {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// go test fuzz v1, then []byte("...")
		_, arg, _ := strings.Cut(string(data), "[]byte(")
		s, err := strconv.Unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(arg), ")")))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files[name] = []byte(s)
	}
	// A laptop offline and asleep for days has its clock set back: its meter stamps what
	// it decides at wake by its own clock, hours behind the others'.
	files["clock set back asleep"] = []byte(`products: [{id: revit, rate: 10}]
teams: [{id: studio}]
packs: [{id: p1, team: studio, tokens: 1000}]
users: [{id: mary, team: studio}, {id: tom, team: studio}]
events:
  - {at: 2026-11-02T08:00:00Z, device: lap, user: mary, start: revit}
  - {at: 2026-11-02T09:00:00Z, device: lap, offline: true}
  - {at: 2026-11-02T18:00:00Z, device: lap, sleep: true}
  - {at: 2026-11-03T08:00:00Z, device: ws, user: tom, start: revit}
  - {at: 2026-11-05T08:00:00Z, device: lap, clock: -30h}
  - {at: 2026-11-05T09:00:00Z, device: lap, wake: true}
  - {at: 2026-11-05T09:00:05Z, device: lap, user: mary, end: revit}
  - {at: 2026-11-05T10:00:00Z, device: ws, user: tom, end: revit}
  - {at: 2026-11-06T10:00:00Z, device: lap, online: true}
`)
	for i, s := range fuzzSeeds {
		files["fuzz seed "+strconv.Itoa(i)] = []byte(s)
	}
	for name, data := range files {
		tl, err := sim.Parse(name, data)
		if err != nil {
			continue // the fuzz corpus has broken timelines on purpose
		}
		if err := sim.StreamedDiffers(tl); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	failures := 0
	for seed := range uint64(1500) {
		w := generate(seeded(seed), seed%4 == 3)
		tl := w.timeline()
		if seed%3 == 0 {
			tl.Policy.RenewalWhenEmpty = "close"
		}
		if err := sim.StreamedDiffers(tl); err != nil {
			t.Errorf("seed %d: %v\ntimeline:\n%s", seed, err, w.yaml())
			if failures++; failures == 3 {
				t.Fatal("stopping after 3 failing timelines")
			}
		}
	}
}
