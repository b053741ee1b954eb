package journal_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tollgate/agent/journal"
	"tollgate/charge"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func open(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestRecordLoadCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	j := open(t, path)
	charged := charge.Effect{Kind: charge.Charged, At: t0, Key: charge.Key{Team: "studio", User: "mary", Product: "revit", Start: t0}, Tokens: 10}
	ins := []journal.Input{
		{Kind: "start", Reading: charge.Reading{Wall: t0}, Proc: charge.Proc{ID: "1", User: "mary", Product: "revit"},
			Answers: []charge.Entitlement{{User: "mary", Available: 100}}},
		{Kind: "advance", Reading: charge.Reading{Wall: t0.Add(5 * time.Minute), Mono: 5 * time.Minute}},
		{Kind: "exit", Reading: charge.Reading{Wall: t0.Add(time.Hour), Mono: time.Hour}, Proc: charge.Proc{ID: "1"}},
	}
	for i := range ins {
		var effs []charge.Effect
		if i == 1 {
			effs = []charge.Effect{charged}
		}
		if err := j.Record(&ins[i], effs); err != nil {
			t.Fatal(err)
		}
		if got, want := ins[i].Seq, uint64(i+1); got != want {
			t.Errorf("got seq %d, want %d", got, want)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("got journal mode %v (%v), want 0600: it holds the device credential", fi.Mode().Perm(), err)
	}

	j = open(t, path)
	defer j.Close()
	st, got, err := j.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st != nil || len(got) != 3 || got[0].Answers[0].Available != 100 || got[2].Kind != "exit" {
		t.Fatalf("got state %v and inputs %+v, want no state and the three inputs as recorded", st, got)
	}
	if err := j.Checkpoint(2, charge.State{Device: "ws1", Now: t0.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	st, got, err = j.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st == nil || st.Device != "ws1" || len(got) != 1 || got[0].Seq != 3 {
		t.Errorf("got state %v and %d inputs after checkpoint, want ws1's state and input 3 alone", st, len(got))
	}

	unsent, err := j.Unsent("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(unsent) != 1 || unsent[0].Effect.Key != charged.Key {
		t.Fatalf("got outbox %+v, want the charge", unsent)
	}
	if err := j.MarkSent(map[string]journal.Answer{unsent[0].ID: "accepted"}, t0); err != nil {
		t.Fatal(err)
	}
	if unsent, _ := j.Unsent("", 0); len(unsent) != 0 {
		t.Errorf("got %d unsent after the ledger answered, want 0", len(unsent))
	}
	if n, err := j.Prune(t0.Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("got %d pruned (%v), want the answered charge pruned", n, err)
	}
}

func TestOpenHeldByAnother(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	defer j.Close()
	_, err := journal.Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another tollgate agent") {
		t.Errorf("got %v, want the journal reported in use", err)
	}
}

func TestDeviceAndMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	id, err := j.Device(func() string { return "dev-1" })
	if err != nil || id != "dev-1" {
		t.Fatalf("got %q %v, want dev-1", id, err)
	}
	if err := j.Put("credential", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = open(t, path)
	defer j.Close()
	if id, _ := j.Device(func() string { return "dev-2" }); id != "dev-1" {
		t.Errorf("got device %q after reopening, want dev-1 kept", id)
	}
	if v, _ := j.Get("credential"); string(v) != "secret" {
		t.Errorf("got %q, want the stored credential", v)
	}
	if v, err := j.Get("missing"); v != nil || err != nil {
		t.Errorf("got %q %v for a missing key, want nil", v, err)
	}
}
