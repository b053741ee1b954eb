package journal_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"tollgate/agent/journal"
	"tollgate/charge"
)

// A journal a working agent would have: an identity, a ledger credential, snapshots,
// sent and unsent charges, inputs since a checkpoint.
func buildJournal(t *testing.T, path string) {
	t.Helper()
	j := open(t, path)
	if _, err := j.Device(func() string { return "ws-042-a1b2c3d4" }); err != nil {
		t.Fatal(err)
	}
	must(t, j.Put("ledger/credential", []byte("dev_5f1e2d3c4b5a69788796a5b4c3d2e1f0")))
	for i := range 30 {
		e := charge.Entitlement{User: fmt.Sprintf("user%02d@studio.example", i), Team: "studio", Assigned: true, Available: 1000,
			Rates: map[string]int64{"revit": 10, "autocad": 7, "rhino": 5, "maya": 12, "max": 11}, AsOf: t0}
		data, _ := json.Marshal(e)
		must(t, j.Put("snapshot/"+e.User, data))
	}
	for i := range 400 {
		r := charge.Reading{Wall: t0.Add(time.Duration(i) * time.Minute), Mono: time.Duration(i) * time.Minute}
		in := journal.Input{Kind: "advance", Reading: r}
		var effs []charge.Effect
		if i%4 == 0 {
			effs = []charge.Effect{{Kind: charge.Charged, At: r.Wall, Device: "ws-042-a1b2c3d4", User: "user01@studio.example", Product: "revit",
				Key: charge.Key{Team: "studio", User: "user01@studio.example", Product: "revit", Start: r.Wall}, Tokens: 10}}
		}
		must(t, j.Record(&in, effs))
		if i == 300 {
			must(t, j.Checkpoint(in.Seq, charge.State{Device: "ws-042-a1b2c3d4", Init: true, Now: r.Wall, LastWall: r.Wall}))
		}
	}
	es, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]journal.Answer{}
	for _, e := range es[:60] {
		sent[e.ID] = "accepted"
	}
	must(t, j.MarkSent(sent, t0.Add(7*time.Hour)))
	must(t, j.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// contents is everything a journal holds that the agent reads back.
type contents struct {
	device string
	cred   string
	snaps  map[string]string
	out    map[string]journal.Entry
	inputs []journal.Input
	state  *charge.State
}

func read(t *testing.T, j *journal.Journal) contents {
	t.Helper()
	c := contents{snaps: map[string]string{}, out: map[string]journal.Entry{}}
	dev, err := j.Get("device")
	must(t, err)
	cred, err := j.Get("ledger/credential")
	must(t, err)
	c.device, c.cred = string(dev), string(cred)
	must(t, j.Each("snapshot/", func(k string, v []byte) error { c.snaps[k] = string(v); return nil }))
	es, err := j.Entries()
	must(t, err)
	for _, e := range es {
		c.out[e.ID] = e
	}
	c.state, c.inputs, err = j.Load()
	must(t, err)
	return c
}

func TestEmptyJournalIsKeptAsideAndReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	must(t, os.WriteFile(path, nil, 0o600))
	j := open(t, path)
	d := j.Damaged()
	if d == nil {
		t.Fatal("got an empty journal opened as new, silently; want it reported as damaged")
	}
	if !strings.Contains(d.Problem, "empty") || d.DeviceKept || d.Sessions {
		t.Errorf("got damage %+v, want an empty file with no device and no sessions read back", d)
	}
	if fi, err := os.Stat(d.KeptAt); err != nil || fi.Size() != 0 {
		t.Errorf("got the damaged file at %s: %v %v, want the 0-byte file kept", d.KeptAt, fi, err)
	}
	for _, want := range []string{"device's identity", "ledger credential", "enrollment token", "not reached the ledger", d.KeptAt} {
		if !strings.Contains(d.String(), want) {
			t.Errorf("got report %q, want it to mention %q", d.String(), want)
		}
	}
	must(t, j.Close())
	j = open(t, path)
	defer j.Close()
	if j.Damaged() != nil {
		t.Errorf("got the repaired journal reported damaged again: %+v", j.Damaged())
	}
	ds, err := j.Damages()
	if err != nil || len(ds) != 1 || ds[0].KeptAt != d.KeptAt {
		t.Errorf("got damage history %+v %v, want the one repair, kept for status", ds, err)
	}
}

func TestHealthyJournalIsNotDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	buildJournal(t, path)
	j := open(t, path)
	defer j.Close()
	if d := j.Damaged(); d != nil {
		t.Fatalf("got a healthy journal reported damaged: %s", d)
	}
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 0 {
		t.Errorf("got %v beside a healthy journal, want nothing", m)
	}
}

func TestJournalInUseIsNotDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	defer j.Close()
	_, err := journal.Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another tollgate agent") {
		t.Errorf("got %v, want an error saying another agent holds it", err)
	}
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 0 {
		t.Errorf("got %v, want a journal in use left alone", m)
	}
}

// page is one page of the journal file that holds data, with the keys on it.
type page struct {
	id   int
	typ  string
	keys []string
	data int // where its first key starts
}

// livePages lists the pages the journal uses (not free ones) and, for leaf pages, the
// keys each holds, read from the raw bytes.
func livePages(t *testing.T, path string) []page {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	defer db.Close()
	raw, err := os.ReadFile(path)
	must(t, err)
	ps := os.Getpagesize()
	// The freelist in use is the one the newer header names; older ones wait to be freed.
	var freelist, txid uint64
	for _, off := range []int{16, ps + 16} {
		if tx := binary.LittleEndian.Uint64(raw[off+48:]); tx >= txid {
			freelist, txid = binary.LittleEndian.Uint64(raw[off+32:]), tx
		}
	}
	var out []page
	must(t, db.View(func(tx *bolt.Tx) error {
		for id := 0; ; {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				return nil
			}
			p := page{id: id, typ: info.Type}
			b := raw[id*ps:]
			if info.Type == "leaf" || info.Type == "branch" {
				p.data = 16 + int(binary.LittleEndian.Uint32(b[16+4:]))
				if info.Type == "branch" {
					p.data = 16 + int(binary.LittleEndian.Uint32(b[16:]))
				}
			}
			if info.Type == "leaf" {
				for i := range info.Count {
					el := 16 + i*16
					pos, ksize := binary.LittleEndian.Uint32(b[el+4:]), binary.LittleEndian.Uint32(b[el+8:])
					p.keys = append(p.keys, string(b[el+int(pos):el+int(pos)+int(ksize)]))
				}
			}
			if info.Type != "free" && (info.Type != "freelist" || uint64(id) == freelist) {
				out = append(out, p)
			}
			id += info.OverflowCount + 1
		}
	}))
	return out
}

// TestRandomBytesInAPage writes random bytes into each page the journal uses, at its
// header, its first element and its data, and opens it: no panic, the damage reported,
// the damaged file kept as it was, and everything on the other pages read back.
func TestRandomBytesInAPage(t *testing.T) {
	golden := filepath.Join(t.TempDir(), "journal.db")
	buildJournal(t, golden)
	jo := open(t, golden)
	want := read(t, jo)
	must(t, jo.Close())
	orig, err := os.ReadFile(golden)
	must(t, err)
	pages := livePages(t, golden)
	where := map[string]int{} // key -> leaf page
	kinds := map[string]int{}
	for _, p := range pages {
		kinds[p.typ]++
		for _, k := range p.keys {
			where[k] = p.id
		}
	}
	if kinds["leaf"] < 5 || kinds["branch"] < 1 || kinds["meta"] != 2 || kinds["freelist"] != 1 {
		t.Fatalf("got pages %v, want a journal of several leaves under a branch, to damage", kinds)
	}
	ps := os.Getpagesize()
	rng := rand.New(rand.NewPCG(9, 9))
	for _, p := range pages {
		for _, at := range []struct {
			name string
			off  int
		}{{"header", 0}, {"first element", 16}, {"data", p.data}} {
			if at.off == 0 && at.name == "data" {
				continue // only leaves and branches hold keys and values: no such case
			}
			t.Run(fmt.Sprintf("page%d-%s-%s", p.id, p.typ, at.name), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "journal.db")
				bad := bytes.Clone(orig)
				junk := make([]byte, 48)
				for i := range junk {
					junk[i] = byte(rng.UintN(256))
				}
				copy(bad[p.id*ps+at.off:], junk)
				must(t, os.WriteFile(path, bad, 0o600))

				j, err := journal.Open(path)
				if err != nil {
					t.Fatalf("got %v, want the journal repaired and opened", err)
				}
				defer j.Close()
				d := j.Damaged()
				if d == nil {
					t.Fatal("got the damage unnoticed")
				}
				kept, err := os.ReadFile(d.KeptAt)
				if err != nil || !bytes.Equal(kept, bad) {
					t.Fatalf("got the damaged file kept at %s (%v), want it byte for byte as found", d.KeptAt, err)
				}
				got := read(t, j)
				// Nothing invented: whatever came back is what was written.
				// A damaged header page makes bbolt use the other, one commit older: here
				// the ledger's last answers, which a resend gets again as duplicates.
				for id, e := range got.out {
					w, ok := want.out[id]
					if p.typ == "meta" {
						w.Sent, w.Answer, w.AnsweredAt = e.Sent, e.Answer, e.AnsweredAt
					}
					if !ok || fmt.Sprint(w) != fmt.Sprint(e) {
						t.Errorf("got outbox entry %s = %+v, want %+v", id, e, w)
					}
				}
				for k, v := range got.snaps {
					if want.snaps[k] != v {
						t.Errorf("got snapshot %s changed", k)
					}
				}
				if got.device != "" && got.device != want.device {
					t.Errorf("got device %q, want %q", got.device, want.device)
				}
				// Everything on another leaf came back, unless the damaged page was the
				// root's, or a branch over the rest.
				if p.typ == "leaf" && where["outbox"] != p.id && where["meta"] != p.id && where["inputs"] != p.id {
					for id := range want.out {
						if _, ok := got.out[id]; !ok && where[id] != p.id {
							t.Errorf("got outbox entry %s (on page %d) lost", id, where[id])
						}
					}
					for k := range want.snaps {
						if _, ok := got.snaps[k]; !ok && where[k] != p.id {
							t.Errorf("got snapshot %s (on page %d) lost", k, where[k])
						}
					}
				}
				if p.typ == "meta" || p.typ == "freelist" {
					if len(got.out) != len(want.out) || len(got.snaps) != len(want.snaps) || got.cred != want.cred || got.state == nil ||
						len(got.inputs) != len(want.inputs) {
						t.Errorf("got %d entries, %d snapshots, %d inputs, credential %q; want all %d, %d, %d and %q: the data pages were whole",
							len(got.out), len(got.snaps), len(got.inputs), got.cred, len(want.out), len(want.snaps), len(want.inputs), want.cred)
					}
				}
				if where["device"] != p.id && where["meta"] != p.id && got.device != want.device {
					t.Errorf("got device %q, want %q kept: it was not on the damaged page", got.device, want.device)
				}
				// New inputs never reuse a sequence number an old entry had.
				in := journal.Input{Kind: "advance", Reading: charge.Reading{Wall: t0.Add(9 * time.Hour)}}
				must(t, j.Record(&in, nil))
				if in.Seq <= 401 {
					t.Errorf("got a new input numbered %d, want above every old one (401)", in.Seq)
				}
			})
		}
	}
}

// TestEmptyJournalKeepsIdentity: a journal emptied whole still knows its device and its
// ledger credential from the identity file beside it, so the device is no stranger to the
// ledger and needs no enrollment token.
func TestEmptyJournalKeepsIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	buildJournal(t, path)
	must(t, os.Truncate(path, 0))
	j := open(t, path)
	defer j.Close()
	d := j.Damaged()
	if d == nil || !d.DeviceKept {
		t.Fatalf("got damage %+v, want an empty journal reported, its device kept", d)
	}
	got := read(t, j)
	if got.device != "ws-042-a1b2c3d4" || got.cred != "dev_5f1e2d3c4b5a69788796a5b4c3d2e1f0" {
		t.Errorf("got device %q credential %q, want both from the identity file", got.device, got.cred)
	}
	if strings.Contains(d.Lost, "identity") || strings.Contains(d.Lost, "credential") {
		t.Errorf("got %q, want the identity and credential not listed as lost", d.Lost)
	}
	// Old entries may be at the ledger under this device's ids: new ones must not reuse one.
	in := journal.Input{Kind: "advance", Reading: charge.Reading{Wall: t0.Add(9 * time.Hour)}}
	must(t, j.Record(&in, nil))
	if in.Seq <= 401 {
		t.Errorf("got a new input numbered %d, want above every old one", in.Seq)
	}
}
