package ctl

import (
	"strings"
	"testing"
	"time"

	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/platform"
)

// TestStatusShowsIdleSession: a session nobody has used since 18:00 says so in `status`.
func TestStatusShowsIdleSession(t *testing.T) {
	mon := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	st := localapi.Status{Device: "ws1", Now: mon.Add(20 * time.Hour), Sessions: []charge.Session{
		{User: "mary@studio.example", Product: "revit", State: "paid", Start: mon, Until: mon.Add(charge.Day), Running: true, IdleSince: mon.Add(10 * time.Hour)},
		{User: "mary@studio.example", Product: "autocad", State: "paid", Start: mon, Until: mon.Add(charge.Day), Running: true},
	}}
	var b strings.Builder
	printStatus(&b, st, platform.NoticeHealth{OK: true}, time.UTC)
	lines := strings.Split(b.String(), "\n")
	var revit, acad string
	for _, l := range lines {
		switch {
		case strings.Contains(l, " revit "):
			revit = l
		case strings.Contains(l, " autocad "):
			acad = l
		}
	}
	if !strings.Contains(revit, "paid, idle since Mon 18:00") || strings.Contains(acad, "idle") {
		t.Errorf("got\n%s\nwant Revit shown idle since Mon 18:00, AutoCAD not", b.String())
	}
}
