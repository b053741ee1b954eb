//go:build linux

package agent_test

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"testing"
	"time"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"

	"tollgate/charge"
)

// A scripted day of use: products started and closed, and the clock moved, step by step.
type step struct {
	at      time.Duration // after day1
	start   string        // product binary to start, named by id
	as      string        // the process's name in the script
	quit    string        // process to close
	product string        // the product of start
}

var day = []step{
	{at: 0, start: "bin/revit", product: "revit", as: "p1"},
	{at: 3 * time.Minute},
	{at: 6 * time.Minute}, // revit charged
	{at: time.Hour, start: "bin/acad", product: "autocad", as: "p2"},
	{at: time.Hour + 2*time.Minute, quit: "p2"}, // within grace
	{at: time.Hour + 3*time.Minute},
	{at: 2 * time.Hour, start: "bin/acad", product: "autocad", as: "p3"},
	{at: 2*time.Hour + 6*time.Minute}, // autocad charged
	{at: 4 * time.Hour, quit: "p1"},
	{at: 4*time.Hour + time.Minute},
	{at: 5 * time.Hour, start: "bin/revit", product: "revit", as: "p4"}, // inside the paid window
	{at: 24 * time.Hour},                                                // revit renewed
	{at: 24*time.Hour + 30*time.Minute, quit: "p3"},
	{at: 24*time.Hour + 30*time.Minute, quit: "p4"},
	{at: 24*time.Hour + 31*time.Minute},
}

// playDay runs the day; killAt >= 0 kills the agent with SIGKILL that many milliseconds
// after step kill's action, and starts it again.
func playDay(t *testing.T, kill int, killAfter time.Duration) []string {
	r := newRig(t, 1000)
	r.Start()
	procs := map[string]*exec.Cmd{}
	running := map[string]int{} // product -> processes
	productOf := map[string]string{}
	for i, s := range day {
		r.SetClock(day1.Add(s.at))
		switch {
		case s.start != "":
			procs[s.as] = r.Launch(s.start)
			productOf[s.as] = s.product
			running[s.product]++
		case s.quit != "":
			r.Quit(procs[s.quit])
			running[productOf[s.quit]]--
		}
		if i == kill {
			time.Sleep(killAfter)
			r.Kill()
			r.Start()
		}
		r.Settled(func(st localapi.Status) bool {
			for _, p := range []string{"revit", "autocad"} {
				ss, _ := agenttest.SessionOf(st, p)
				if ss.Procs != running[p] {
					return false
				}
			}
			return true
		})
	}
	r.Stop()
	var keys []string
	for _, c := range r.Charges() {
		keys = append(keys, fmt.Sprintf("%s %d", c.Key, c.Tokens))
	}
	slices.Sort(keys)
	return keys
}

func TestCrashLosesNoChargeAndRepeatsNone(t *testing.T) {
	want := []string{
		charge.Key{Team: "studio", User: "root@studio.example", Product: "autocad", Start: day1.Add(2 * time.Hour)}.String() + " 7",
		charge.Key{Team: "studio", User: "root@studio.example", Product: "revit", Start: day1}.String() + " 10",
		charge.Key{Team: "studio", User: "root@studio.example", Product: "revit", Start: day1.Add(24 * time.Hour)}.String() + " 10",
	}
	straight := playDay(t, -1, 0)
	if !slices.Equal(straight, want) {
		t.Fatalf("uninterrupted day: got charges\n%v\nwant\n%v", straight, want)
	}
	runs := 100
	if testing.Short() {
		runs = 10
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range runs {
		kill, after := rng.IntN(len(day)), time.Duration(rng.IntN(40))*time.Millisecond
		t.Run(fmt.Sprintf("kill-%d-step%d-after%v", i, kill, after), func(t *testing.T) {
			t.Parallel()
			if got := playDay(t, kill, after); !slices.Equal(got, want) {
				t.Errorf("killed at step %d +%v: got charges\n%v\nwant\n%v", kill, after, got, want)
			}
		})
	}
}
