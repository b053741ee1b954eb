package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// studioYear generates a studio's year for n users, the same for the same n: teams of 25,
// each user on a workstation of their own, working about one weekday in six with one or
// two sessions (some short enough to stay in grace, some running past the 24-hour
// window), a few days offline and a few nights asleep each; every team buys a pack each
// month, and a report closes each month.
func studioYear(n int) *Timeline {
	r := rand.New(rand.NewPCG(uint64(n), 0x5717d10))
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	tl := &Timeline{Products: []Product{{ID: "revit", Name: "Revit", Rate: 10}, {ID: "autocad", Name: "AutoCAD", Rate: 7}, {ID: "maya", Name: "Maya", Rate: 3}}}
	at := func(t time.Time) Time { return Time{t} }
	var evs []Event
	teams := (n + 24) / 25
	for i := range teams {
		id := fmt.Sprintf("team%03d", i)
		tl.Teams = append(tl.Teams, Team{ID: id})
		tl.Packs = append(tl.Packs, Pack{ID: id + "-p0", Team: id, Tokens: 20_000})
		for m := 1; m < 12; m++ {
			evs = append(evs, Event{At: at(start.AddDate(0, m, 0).Add(7 * time.Hour)), Buy: &Pack{ID: fmt.Sprintf("%s-p%d", id, m), Team: id, Tokens: 12_000}})
		}
	}
	for m := 1; m <= 12; m++ {
		evs = append(evs, Event{At: at(start.AddDate(0, m, 0).Add(-time.Hour)), Report: true})
	}
	prods := []string{"revit", "autocad", "maya"}
	for u := range n {
		user, dev := fmt.Sprintf("user%04d", u), fmt.Sprintf("ws%04d", u)
		tl.Users = append(tl.Users, User{ID: user, Team: fmt.Sprintf("team%03d", u/25)})
		// Each device's own events are in order and never overlap, so it is valid alone.
		var busyUntil time.Time
		for day := range 364 {
			d := start.AddDate(0, 0, day)
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || r.IntN(100) < 84 {
				continue
			}
			t := d.Add(8*time.Hour + time.Duration(r.IntN(120))*time.Minute)
			if t.Before(busyUntil) {
				continue
			}
			switch x := r.IntN(100); {
			case x < 2: // a day offline
				evs = append(evs, Event{At: at(t), Device: dev, Offline: true})
				evs = append(evs, Event{At: at(t.Add(time.Hour)), Device: dev, User: user, Start: prods[r.IntN(3)]})
				evs = append(evs, Event{At: at(t.Add(5 * time.Hour)), Device: dev, User: user, End: evs[len(evs)-1].Start})
				t = t.Add(9 * time.Hour)
				evs = append(evs, Event{At: at(t), Device: dev, Online: true})
				busyUntil = t
				continue
			case x < 4: // asleep overnight with a session open
				p := prods[r.IntN(3)]
				evs = append(evs, Event{At: at(t), Device: dev, User: user, Start: p})
				evs = append(evs, Event{At: at(t.Add(10 * time.Hour)), Device: dev, Sleep: true})
				evs = append(evs, Event{At: at(t.Add(22 * time.Hour)), Device: dev, Wake: true})
				evs = append(evs, Event{At: at(t.Add(23 * time.Hour)), Device: dev, User: user, End: p})
				busyUntil = t.Add(23 * time.Hour)
				continue
			case x < 6: // left running past the window's end
				p := prods[r.IntN(3)]
				evs = append(evs, Event{At: at(t), Device: dev, User: user, Start: p})
				busyUntil = t.Add(30 * time.Hour)
				evs = append(evs, Event{At: at(busyUntil), Device: dev, User: user, End: p})
				continue
			}
			for range 1 + r.IntN(2) {
				p := prods[r.IntN(3)]
				d := time.Duration(30+r.IntN(180)) * time.Minute
				if r.IntN(4) == 0 {
					d = time.Duration(10+r.IntN(280)) * time.Second // stays in grace
				}
				evs = append(evs, Event{At: at(t), Device: dev, User: user, Start: p})
				evs = append(evs, Event{At: at(t.Add(d)), Device: dev, User: user, End: p})
				t = t.Add(d + time.Duration(1+r.IntN(60))*time.Minute)
			}
			busyUntil = t
		}
	}
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At.Time) })
	tl.Events = evs
	return tl
}

// BenchmarkSimulateYear replays a studio's year for 100 to 1,600 users. The figure is
// the ratio of ns/event between sizes: near-linear means close to 1 per doubling.
func BenchmarkSimulateYear(b *testing.B) {
	for _, n := range []int{100, 200, 400, 800, 1600} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			tl := studioYear(n)
			if err := tl.check(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := Run(tl); err != nil {
					b.Fatal(err)
				}
			}
			events := float64(len(tl.Events)) * float64(b.N)
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(len(tl.Events)), "events")
		})
	}
}
