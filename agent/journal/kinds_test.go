package journal_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"tollgate/agent/journal"
)

// TestJournalWordsOnDisk: the typed kinds and answers are the words journals were
// written with before they were typed, so a journal written then opens, replays and
// reports its refusals now. The journal below is written the way the agent wrote it
// (JSON records in bbolt), with the words as literals.
func TestJournalWordsOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	open(t, path).Close()
	words := []string{"start", "exit", "advance", "sleep", "wake", "learn", "recheck", "policy"}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		in := tx.Bucket([]byte("inputs"))
		for i, w := range words {
			seq, err := in.NextSequence()
			if err != nil {
				return err
			}
			rec := fmt.Sprintf(`{"seq":%d,"kind":%q,"reading":{"Wall":"2026-11-02T08:00:00Z","Mono":%d}}`, seq, w, i)
			if err := in.Put(binary.BigEndian.AppendUint64(nil, seq), []byte(rec)); err != nil {
				return err
			}
		}
		out := tx.Bucket([]byte("outbox"))
		for id, answer := range map[string]string{"0000000000000001-0000": "refused: tokens_differ", "0000000000000002-0000": "accepted", "0000000000000003-0000": "held"} {
			rec := fmt.Sprintf(`{"id":%q,"seq":1,"effect":{"kind":"charged"},"sent":true,"answer":%q}`, id, answer)
			if err := out.Put([]byte(id), []byte(rec)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	j := open(t, path)
	defer j.Close()
	_, ins, err := j.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got []journal.Kind
	for _, in := range ins {
		got = append(got, in.Kind)
	}
	want := []journal.Kind{journal.Start, journal.Exit, journal.Advance, journal.Sleep, journal.Wake, journal.Learn, journal.Recheck, journal.Policy}
	if !slices.Equal(got, want) {
		t.Errorf("got kinds %q, want %q", got, want)
	}
	entries, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		answer  journal.Answer
		why     string
		refused bool
	}{{journal.Refused("tokens_differ"), "tokens_differ", true}, {"accepted", "", false}, {journal.Held, "", false}}
	if len(entries) != len(tests) {
		t.Fatalf("got %d entries, want %d", len(entries), len(tests))
	}
	for i, tt := range tests {
		e := entries[i]
		why, refused := e.Answer.Refusal()
		if e.Answer != tt.answer || why != tt.why || refused != tt.refused {
			t.Errorf("entry %s: got answer %q (refusal %q, %v), want %q (refusal %q, %v)", e.ID, e.Answer, why, refused, tt.answer, tt.why, tt.refused)
		}
	}
}
