package ctl

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tollgate/agent/journal"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/config"
	"tollgate/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files of status's output under testdata")

// TestStatusGolden: what `tollgate status` prints for a person, in the states they meet.
func TestStatusGolden(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	avail := int64(190)
	short := int64(-15)
	healthy := localapi.Status{Device: "ws-mary-1a2b3c4d", Now: at, Caller: "mary@studio.example", Available: &avail, AsOf: at.Add(-time.Minute),
		Ledger: &localapi.LedgerStatus{URL: "https://ledger.studio.example", Enrolled: true, Online: true, LastContact: at},
		Config: config.Health{Loaded: at.Add(-time.Hour), Files: []string{"/etc/tollgate/tollgate.yaml"}}, Gate: "on",
		Journal: localapi.JournalHealth{Writable: true},
		Sessions: []charge.Session{
			{User: "mary@studio.example", Product: "revit", State: "paid", Start: at.Add(-90 * time.Minute), Until: at.Add(22*time.Hour + 30*time.Minute), Procs: 1, Running: true},
			{User: "mary@studio.example", Product: "autocad", State: "grace", Start: at.Add(-2 * time.Minute), GraceLeft: 3 * time.Minute, Procs: 1, Running: true},
		}}
	troubled := healthy
	troubled.Admin, troubled.Caller, troubled.Available = true, "root@studio.example", &short
	troubled.Backlog, troubled.Rollbacks = 12, 1
	troubled.Ledger = &localapi.LedgerStatus{URL: "https://ledger.studio.example", Enrolled: true, Error: `Post "https://ledger.studio.example/v1/ingest": dial tcp 10.0.0.5:443: connect: connection refused`, Refused: 2, LastRefusal: "wrong_rate: revit costs 10 tokens"}
	troubled.Config.Err = "/etc/tollgate/conf.d/30-site.yaml:4: poll_interval: \"often\" is not a duration (e.g. 2s)"
	troubled.Config.Restart = []string{"log.file", "log.max_backups"}
	troubled.Gate = "off: fanotify needs CAP_SYS_ADMIN"
	troubled.Journal = localapi.JournalHealth{Since: at.Add(-5 * time.Minute), Problem: "the disk holding the agent's state folder is full", Waiting: 3,
		Damage: []journal.Damage{{At: at.Add(-24 * time.Hour), Problem: "page 7 is not a valid page", KeptAt: "/var/lib/tollgate/journal.db.damaged-20261101T093000Z", Recovered: "read back: the device id, 3 unsent charges", Lost: "lost: nothing", Todo: "nothing to do; send the kept file to support if asked"}}}
	troubled.Sessions = nil

	tests := []struct {
		name    string
		st      localapi.Status
		notices platform.NoticeHealth
	}{
		{"healthy", healthy, platform.NoticeHealth{OK: true}},
		{"troubled", troubled, platform.NoticeHealth{Problem: "notices from Script Editor are turned off: System Settings > Notifications > Script Editor > Allow notifications"}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printStatus(&b, tt.st, tt.notices, time.UTC)
		golden := filepath.Join("testdata", "status-"+tt.name+".golden")
		if *update {
			if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -run TestStatusGolden -update ./ctl to write it)", err)
		}
		if got := b.String(); got != string(want) {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}
