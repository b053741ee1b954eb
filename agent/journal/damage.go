package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"tollgate/charge"
)

// ErrDamaged marks an error that comes from a damaged journal file rather than from the
// disk refusing a write: the agent restarts and repairs it, it does not retry.
var ErrDamaged = errors.New("the journal is damaged")

// Damage is what was found wrong with the journal at start and what was done about it,
// in sentences an administrator reads in the log and in `tollgate status`.
type Damage struct {
	At        time.Time `json:"at"`
	Problem   string    `json:"problem"`
	KeptAt    string    `json:"kept_at"` // the damaged file, never deleted
	Recovered string    `json:"recovered"`
	Lost      string    `json:"lost"`
	Todo      string    `json:"todo"`
	// What the repaired journal holds, for tests and tools.
	DeviceKept bool `json:"device_kept"`
	Unsent     int  `json:"unsent"`   // outbox entries read back that the ledger has not answered
	Sessions   bool `json:"sessions"` // the meter's state was read back whole
}

const (
	prefixDamage = "damage/"
	// seqMargin is added to the highest sequence number read back from a damaged journal.
	// Entries that were in its unreadable part may have reached the ledger under their
	// ids; new entries must never reuse one, or the ledger would take a new charge for a
	// duplicate of an old one.
	seqMargin = 1 << 32
)

// protect runs f with memory faults turned into panics and panics into ErrDamaged: a
// damaged bbolt file makes bbolt panic, or read outside its memory map.
func protect(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, r)
		}
	}()
	return f()
}

// salvage is everything that could be read from a journal file.
type salvage struct {
	problems []string
	buckets  map[string]map[string][]byte
	seq      uint64 // the inputs bucket's sequence, when seqOK
	seqOK    bool
}

func (s *salvage) problem(format string, args ...any) {
	if len(s.problems) < 20 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

// inspect checks the journal at path and reads what it can of it. A nil salvage with a
// nil error means there is no journal yet; an error means it could not be looked at
// (held by another agent).
func inspect(path string) (*salvage, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	s := &salvage{buckets: map[string]map[string][]byte{}}
	if fi.Size() == 0 {
		s.problem("the journal file is empty (0 bytes)")
		return s, nil
	}
	freelistOK := s.checkHeaders(path, fi.Size())
	var db *bolt.DB
	err = protect(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, inUse(path)
	}
	if err != nil {
		s.problem("bbolt cannot open it: %v", err)
		return s, nil
	}
	defer protect(db.Close)
	for _, name := range [][]byte{bucketInputs, bucketOutbox, bucketMeta} {
		s.read(db, name)
	}
	if len(s.problems) == 0 && freelistOK {
		// Every page the check visits has been read above without a fault, so its own
		// goroutine, which cannot be protected, is safe to run.
		err := db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				s.problem("consistency check: %v", err)
			}
			return nil
		})
		if err != nil {
			s.problem("consistency check: %v", err)
		}
	}
	s.validate()
	return s, nil
}

func inUse(path string) error {
	return fmt.Errorf("journal %s is in use by another tollgate agent: stop it first", path)
}

// read copies every readable key of bucket name: forwards until a damaged page stops the
// cursor, then backwards from the end until it stops again, so that one bad page loses
// only what is on it.
func (s *salvage) read(db *bolt.DB, name []byte) {
	kv := map[string][]byte{}
	s.buckets[string(name)] = kv
	walk := func(first func(*bolt.Cursor) ([]byte, []byte), next func(*bolt.Cursor) ([]byte, []byte)) error {
		return protect(func() error {
			return db.View(func(tx *bolt.Tx) error {
				b := tx.Bucket(name)
				if b == nil {
					return fmt.Errorf("bucket %s is missing", name)
				}
				if string(name) == string(bucketInputs) {
					s.seq, s.seqOK = b.Sequence(), true
				}
				c := b.Cursor()
				for k, v := first(c); k != nil; k, v = next(c) {
					if v == nil {
						continue // a nested bucket: the journal makes none
					}
					if _, seen := kv[string(k)]; seen {
						return nil // met the forward walk
					}
					kv[string(k)] = bytes.Clone(v)
				}
				return nil
			})
		})
	}
	if err := walk((*bolt.Cursor).First, (*bolt.Cursor).Next); err != nil {
		s.problem("reading %s: %v", name, err)
		walk((*bolt.Cursor).Last, (*bolt.Cursor).Prev)
	}
}

// checkHeaders checks both bbolt meta pages itself: bbolt quietly falls back to the older
// one when the newer is damaged, which loses the last commit. It also checks that the
// freelist page bbolt will load is within the file, and reports whether it is.
func (s *salvage) checkHeaders(path string, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		s.problem("reading its header: %v", err)
		return false
	}
	defer f.Close()
	type meta struct {
		ok                   bool
		pageSize             uint32
		freelist, pgid, txid uint64
	}
	read := func(off int64) meta {
		buf := make([]byte, 16+64)
		if _, err := f.ReadAt(buf, off); err != nil {
			return meta{}
		}
		m := buf[16:]
		h := fnv.New64a()
		h.Write(m[:56])
		le := binary.LittleEndian
		ok := le.Uint32(m[0:]) == 0xED0CDAED && le.Uint32(m[4:]) == 2 && h.Sum64() == le.Uint64(m[56:])
		return meta{ok: ok, pageSize: le.Uint32(m[8:]), freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
	}
	m0 := read(0)
	ps := int64(os.Getpagesize())
	if m0.ok {
		ps = int64(m0.pageSize)
	}
	m1 := read(ps)
	for i, m := range []meta{m0, m1} {
		if !m.ok {
			s.problem("header page %d is damaged", i)
		}
	}
	m := m0
	if !m0.ok || m1.ok && m1.txid > m0.txid {
		m = m1
	}
	if !m.ok {
		return false
	}
	if m.freelist == ^uint64(0) {
		return true
	}
	hdr := make([]byte, 24)
	off := int64(m.freelist) * ps
	if m.freelist >= m.pgid || off+int64(len(hdr)) > size {
		s.problem("the freelist page %d is outside the file", m.freelist)
		return false
	}
	if _, err := f.ReadAt(hdr, off); err != nil {
		s.problem("reading the freelist: %v", err)
		return false
	}
	le := binary.LittleEndian
	flags, count, overflow := le.Uint16(hdr[8:]), uint64(le.Uint16(hdr[10:])), int64(le.Uint32(hdr[12:]))
	ids := int64(count)
	if count == 0xFFFF {
		ids = int64(le.Uint64(hdr[16:])) + 1
	}
	if flags&0x10 == 0 || le.Uint64(hdr[0:]) != m.freelist || 16+ids*8 > (overflow+1)*ps || off+(overflow+1)*ps > size {
		s.problem("the freelist page %d is damaged", m.freelist)
		return false
	}
	return true
}

// validate drops what was read but does not decode: bbolt keeps no checksum of data, so
// random bytes in a value are found only here.
func (s *salvage) validate() {
	bad := 0
	for k, v := range s.buckets[string(bucketInputs)] {
		var in Input
		if len(k) != 8 || json.Unmarshal(v, &in) != nil || in.Seq != binary.BigEndian.Uint64([]byte(k)) {
			delete(s.buckets[string(bucketInputs)], k)
			bad++
		}
	}
	for k, v := range s.buckets[string(bucketOutbox)] {
		var e Entry
		if json.Unmarshal(v, &e) != nil || e.ID != k {
			delete(s.buckets[string(bucketOutbox)], k)
			bad++
		}
	}
	for k, v := range s.buckets[string(bucketMeta)] {
		ok := true
		switch {
		case k == string(keyState):
			var cp checkpoint
			ok = json.Unmarshal(v, &cp) == nil
		case k == string(keyDevice) || k == keyCredential:
			ok = printable(v)
		case strings.HasPrefix(k, prefixDamage) || strings.HasPrefix(k, "snapshot/"):
			ok = json.Valid(v)
		}
		if !ok {
			delete(s.buckets[string(bucketMeta)], k)
			bad++
		}
	}
	if bad > 0 {
		s.problem("%d records do not read back as they were written", bad)
	}
}

// keyCredential is where the agent keeps its ledger credential; the journal checks it
// reads back as text.
const keyCredential = "ledger/credential"

func printable(v []byte) bool {
	if len(v) == 0 || !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// repair writes what was salvaged into a new journal and puts it in place of the damaged
// one, which is kept beside it under a dated name. Until the new one is in place the
// damaged file stays where it was, so a crash during repair repairs again at next start.
func repair(path string, s *salvage, now time.Time) (*Damage, error) {
	d := &Damage{At: now, Problem: strings.Join(s.problems, "; ")}
	inputs, outbox, meta := s.buckets[string(bucketInputs)], s.buckets[string(bucketOutbox)], s.buckets[string(bucketMeta)]
	if meta == nil {
		meta = map[string][]byte{}
	}

	// The highest sequence number anything read back mentions.
	top := s.seq
	var cp checkpoint
	haveCP := meta[string(keyState)] != nil && json.Unmarshal(meta[string(keyState)], &cp) == nil
	top = max(top, cp.Seq)
	var lastWall time.Time
	var devices []string
	if haveCP {
		lastWall = cp.State.Now
		devices = append(devices, cp.State.Device)
	}
	var seqs []uint64
	for k := range inputs {
		seqs = append(seqs, binary.BigEndian.Uint64([]byte(k)))
	}
	slices.Sort(seqs)
	if len(seqs) > 0 {
		top = max(top, seqs[len(seqs)-1])
	}
	var unsent int
	for _, v := range outbox {
		var e Entry
		json.Unmarshal(v, &e)
		top = max(top, e.Seq)
		if !e.Sent {
			unsent++
		}
		if e.Effect.At.After(lastWall) {
			lastWall = e.Effect.At
		}
		devices = append(devices, e.Effect.Device)
	}

	// The meter replays from its checkpoint (or from the very first input) through every
	// input since; with a gap in those inputs it replays only up to the gap.
	keep := map[string][]byte{}
	next := cp.Seq + 1
	for _, n := range seqs {
		if n < next {
			continue
		}
		if n != next {
			break
		}
		keep[string(seqKey(n))] = inputs[string(seqKey(n))]
		next++
	}
	whole := s.seqOK && next == s.seq+1
	for _, v := range inputs {
		var in Input
		json.Unmarshal(v, &in)
		if in.Reading.Wall.After(lastWall) {
			lastWall = in.Reading.Wall
		}
	}
	if id, ok := readIdentity(filepath.Dir(path)); ok {
		// The identity file names the device and its credential when the journal lost them.
		if len(meta[string(keyDevice)]) == 0 {
			meta[string(keyDevice)] = []byte(id.Device)
		}
		if len(meta[keyCredential]) == 0 && id.Credential != "" && string(meta[string(keyDevice)]) == id.Device {
			meta[keyCredential] = []byte(id.Credential)
		}
	}
	device := string(meta[string(keyDevice)])
	d.DeviceKept = device != ""
	if device == "" {
		// The device's id is also in the checkpoint and in every effect.
		for _, x := range devices {
			if x != "" {
				device, d.DeviceKept = x, true
				meta[string(keyDevice)] = []byte(x)
				break
			}
		}
	}
	if !haveCP && len(keep) == 0 && !whole && !lastWall.IsZero() {
		// Keep at least the clock's high-water mark, so that a clock set back is still
		// caught; sessions start afresh.
		st := charge.State{Device: device, Init: true, Now: lastWall, LastWall: lastWall}
		data, _ := json.Marshal(checkpoint{Seq: 0, State: st})
		meta[string(keyState)] = data
	}
	d.Unsent, d.Sessions = unsent, whole
	d.KeptAt = keptName(path, now)
	d.describe(s, haveCP, len(meta[keyCredential]) > 0, len(outbox), lastWall)
	report, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	meta[prefixDamage+now.UTC().Format(time.RFC3339Nano)] = report

	tmp := path + ".repairing"
	os.Remove(tmp) // our own leftover from a repair cut short
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []struct {
			name []byte
			kv   map[string][]byte
		}{{bucketInputs, keep}, {bucketOutbox, outbox}, {bucketMeta, meta}} {
			bk, err := tx.CreateBucket(b.name)
			if err != nil {
				return err
			}
			bk.FillPercent = 0.9
			for k, v := range b.kv {
				if err := bk.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketInputs).SetSequence(top + seqMargin)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}

	if err := os.Link(path, d.KeptAt); err != nil {
		if err := os.Rename(path, d.KeptAt); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("keeping the damaged journal as %s: %w", d.KeptAt, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	syncDir(filepath.Dir(path))
	return d, nil
}

// keptName is a name beside path, dated, that no file has yet.
func keptName(path string, now time.Time) string {
	base := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// describe says what was kept, what was lost and what to do, in sentences.
func (d *Damage) describe(s *salvage, haveCP, credential bool, entries int, lastWall time.Time) {
	var got, lost []string
	empty := len(s.buckets) == 0
	if d.DeviceKept {
		got = append(got, "the device's identity")
	} else {
		lost = append(lost, "the device's identity (a new one is made: the ledger lists this computer as a new device)")
	}
	if credential {
		got = append(got, "its ledger credential")
	} else {
		lost = append(lost, "its ledger credential (the agent enrolls again with the enrollment token file; if that file was removed, put it back)")
	}
	if entries > 0 {
		got = append(got, fmt.Sprintf("%d journaled charges and other records, %d of them not yet sent (they will be sent, once)", entries, d.Unsent))
	}
	if d.Sessions {
		got = append(got, "the open sessions")
	} else if haveCP {
		got = append(got, "the open sessions as of an earlier moment")
	} else {
		lost = append(lost, "the open sessions (products running now are metered as if just started; windows already paid stay paid)")
	}
	if !lastWall.IsZero() {
		got = append(got, "the clock's high-water mark ("+lastWall.UTC().Format(time.RFC3339)+")")
	} else {
		lost = append(lost, "the clock's high-water mark")
	}
	if empty {
		lost = append(lost, "any charge it held that had not reached the ledger")
	} else {
		lost = append(lost, "whatever was in the unreadable part, including any charge there that had not reached the ledger")
	}
	d.Recovered = "Read back: " + strings.Join(got, "; ") + "."
	if len(got) == 0 {
		d.Recovered = "Nothing could be read back."
	}
	d.Lost = "Lost: " + strings.Join(lost, "; ") + "."
	d.Todo = "The agent keeps working with the repaired journal. Keep " + d.KeptAt + " for support, check this computer's disk, " +
		"and compare this device's charges in the ledger's report with the use expected around " + d.At.UTC().Format("2006-01-02 15:04") + " UTC."
}

// String is the whole report in one paragraph.
func (d *Damage) String() string {
	return fmt.Sprintf("The journal was damaged (%s). It was kept as %s and a repaired journal was made. %s %s %s", d.Problem, d.KeptAt, d.Recovered, d.Lost, d.Todo)
}
