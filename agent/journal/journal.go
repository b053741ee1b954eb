// Package journal is the agent's durable record. Every input the meter sees is written,
// with the entitlement answers it was given and the effects that came of it, in one
// fsynced transaction before anything is acted on. After a crash the agent restores the
// last checkpoint of the meter and replays the inputs since, which gives back the same
// state, so no charge is lost and none is repeated.
package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"tollgate/charge"
)

var (
	bucketInputs = []byte("inputs")
	bucketOutbox = []byte("outbox")
	bucketMeta   = []byte("meta")
	keyState     = []byte("state")
	keyDevice    = []byte("device")
)

// Input is one thing the meter was told, with everything needed to tell it again.
type Input struct {
	Seq     uint64               `json:"seq"`
	Kind    Kind                 `json:"kind"`
	Reading charge.Reading       `json:"reading"`
	Proc    charge.Proc          `json:"proc,omitzero"`
	Window  charge.Window        `json:"window,omitzero"`
	Policy  charge.Policy        `json:"policy,omitzero"`
	Idle    time.Duration        `json:"idle,omitempty"`    // input: how long the user's session had no input
	At      time.Time            `json:"at,omitzero"`       // nightly: the nightly close's instant
	Answers []charge.Entitlement `json:"answers,omitempty"` // what the meter was told, in order
}

// Entry is an effect in the outbox, waiting to be synced to the ledger.
type Entry struct {
	ID     string        `json:"id"`
	Seq    uint64        `json:"seq"`
	Effect charge.Effect `json:"effect"`
	Sent   bool          `json:"sent,omitempty"`
	Answer Answer        `json:"answer,omitempty"` // the ledger's answer; empty until it gave one
	// AnsweredAt is the ledger's time when it answered, so that a later snapshot is known
	// to include the entry.
	AnsweredAt time.Time `json:"answered_at,omitzero"`
}

// checkpoint is the meter's state after input Seq.
type checkpoint struct {
	Seq   uint64       `json:"seq"`
	State charge.State `json:"state"`
}

// Journal is a bbolt database, fsynced on every commit.
type Journal struct {
	db     *bolt.DB
	path   string
	damage *Damage
}

// Open opens or creates the journal at path, readable by its owner only. A journal held
// by another running agent is an error after a second, not a wait.
//
// An existing journal is checked first (bbolt's consistency check, both header pages,
// and every record decoded). A damaged one is never started over silently: what can be
// read of it is copied into a new journal, the damaged file is kept beside it under a
// dated name, and Damaged reports what happened. Only when the repair cannot be written
// is Open an error, and the damaged file is then left as it was.
func Open(path string) (*Journal, error) {
	return open(path, time.Now)
}

func open(path string, now func() time.Time) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	s, err := inspect(path)
	if err != nil {
		return nil, err
	}
	var d *Damage
	if s != nil && len(s.problems) > 0 {
		if d, err = repair(path, s, now()); err != nil {
			return nil, fmt.Errorf("journal %s is damaged (%s) and a repaired copy could not be written: %w; "+
				"free space in %s and start the agent again (the damaged file is left as it was)", path, strings.Join(s.problems, "; "), err, filepath.Dir(path))
		}
	}
	var db *bolt.DB
	err = protect(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, inUse(path)
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j := &Journal{db: db, path: path, damage: d}
	// Written only when something is missing, so that a journal on a full disk opens.
	missing := false
	if err := j.view(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketInputs, bucketOutbox, bucketMeta} {
			missing = missing || tx.Bucket(b) == nil
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if missing {
		err = j.update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketInputs, bucketOutbox, bucketMeta} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j.saveIdentity() // for journals from before the identity file
	return j, nil
}

// Damaged is the damage found and repaired when the journal was opened, or nil.
func (j *Journal) Damaged() *Damage { return j.damage }

// Damages lists every repair this journal has been through, oldest first.
func (j *Journal) Damages() ([]Damage, error) {
	var out []Damage
	err := j.Each(prefixDamage, func(_ string, v []byte) error {
		var d Damage
		if json.Unmarshal(v, &d) == nil {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// update and view run bbolt transactions with its panics and faults, which a file
// damaged while the agent runs can cause, returned as ErrDamaged.
func (j *Journal) update(fn func(*bolt.Tx) error) error {
	return protect(func() error { return j.db.Update(fn) })
}

func (j *Journal) view(fn func(*bolt.Tx) error) error {
	return protect(func() error { return j.db.View(fn) })
}

// Close closes the database.
func (j *Journal) Close() error { return j.db.Close() }

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// EntryID names the i-th effect of input seq in the outbox; ids sort in journal order.
func EntryID(seq uint64, i int) string { return fmt.Sprintf("%016x-%04d", seq, i) }

// Record writes an input and its effects in one transaction, giving the input its
// sequence number.
func (j *Journal) Record(in *Input, effs []charge.Effect) error {
	return j.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInputs)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		in.Seq = seq
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), data); err != nil {
			return err
		}
		out := tx.Bucket(bucketOutbox)
		for i, f := range effs {
			e := Entry{ID: EntryID(seq, i), Seq: seq, Effect: f}
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := out.Put([]byte(e.ID), data); err != nil {
				return err
			}
		}
		return nil
	})
}

// Checkpoint stores the meter's state as of input seq and drops the inputs it covers.
func (j *Journal) Checkpoint(seq uint64, st charge.State) error {
	data, err := json.Marshal(checkpoint{Seq: seq, State: st})
	if err != nil {
		return err
	}
	return j.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(keyState, data); err != nil {
			return err
		}
		c := tx.Bucket(bucketInputs).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Load returns the last checkpoint (nil if none) and the inputs recorded after it, in order.
func (j *Journal) Load() (*charge.State, []Input, error) {
	var st *charge.State
	var ins []Input
	err := j.view(func(tx *bolt.Tx) error {
		var cp checkpoint
		if data := tx.Bucket(bucketMeta).Get(keyState); data != nil {
			if err := json.Unmarshal(data, &cp); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
			st = &cp.State
		}
		return tx.Bucket(bucketInputs).ForEach(func(k, v []byte) error {
			var in Input
			if err := json.Unmarshal(v, &in); err != nil {
				return fmt.Errorf("input %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if in.Seq > cp.Seq {
				ins = append(ins, in)
			}
			return nil
		})
	})
	return st, ins, err
}

// Entries lists the whole outbox in order.
func (j *Journal) Entries() ([]Entry, error) {
	return j.scan("", 0, func(Entry) bool { return true })
}

// Unsent lists, in order, up to limit entries after the id after (all when empty) that
// the ledger has not answered. Callers that know every entry up to some id is answered
// pass it, so that a long journal is not read from its start for every batch.
func (j *Journal) Unsent(after string, limit int) ([]Entry, error) {
	return j.scan(after, limit, func(e Entry) bool { return !e.Sent })
}

// Pending counts the entries after the id after (all when empty) that the ledger has not
// answered, and returns the earliest time among their effects (zero when none): the
// backlog the agent reports with each sync.
func (j *Journal) Pending(after string) (n int64, oldest time.Time, err error) {
	_, err = j.scan(after, 0, func(e Entry) bool {
		if !e.Sent {
			n++
			if oldest.IsZero() || e.Effect.At.Before(oldest) {
				oldest = e.Effect.At
			}
		}
		return false
	})
	return n, oldest, err
}

// scan lists up to limit (0: all) outbox entries after the id after that keep accepts.
func (j *Journal) scan(after string, limit int, keep func(Entry) bool) ([]Entry, error) {
	var out []Entry
	err := j.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		k, v := c.First()
		if after != "" {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("outbox %s: %w", k, err)
			}
			if keep(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// MarkSent records the ledger's answer to each entry, given at ledger time at.
func (j *Journal) MarkSent(answers map[string]Answer, at time.Time) error {
	return j.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		for id, answer := range answers {
			data := b.Get([]byte(id))
			if data == nil {
				continue
			}
			var e Entry
			if err := json.Unmarshal(data, &e); err != nil {
				return err
			}
			e.Sent, e.Answer, e.AnsweredAt = true, answer, at
			if data, err := json.Marshal(e); err != nil {
				return err
			} else if err := b.Put([]byte(id), data); err != nil {
				return err
			}
		}
		return nil
	})
}

// Prune drops answered entries recorded before the checkpoint and older than keep, so
// that the journal stays small on a machine that runs for years.
func (j *Journal) Prune(before time.Time) (int, error) {
	n := 0
	err := j.update(func(tx *bolt.Tx) error {
		var cp checkpoint
		if data := tx.Bucket(bucketMeta).Get(keyState); data != nil {
			if err := json.Unmarshal(data, &cp); err != nil {
				return err
			}
		}
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.Seq > cp.Seq {
				break
			}
			if e.Sent && e.Effect.At.Before(before) {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// Device returns the device's id, creating it from fresh on first use; it survives
// restarts and reinstalls that keep the state folder.
func (j *Journal) Device(fresh func() string) (string, error) {
	var id string
	if err := j.view(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketMeta).Get(keyDevice))
		return nil
	}); err != nil || id != "" {
		return id, err
	}
	err := j.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keyDevice); v != nil {
			id = string(v)
			return nil
		}
		id = fresh()
		return b.Put(keyDevice, []byte(id))
	})
	if err == nil {
		j.saveIdentity()
	}
	return id, err
}

// Get and Put keep small values in the journal's meta bucket (the device credential,
// the last entitlement snapshot), under keys the caller names.
func (j *Journal) Get(key string) ([]byte, error) {
	var v []byte
	err := j.view(func(tx *bolt.Tx) error {
		v = append([]byte(nil), tx.Bucket(bucketMeta).Get([]byte(key))...)
		return nil
	})
	if len(v) == 0 {
		return nil, err
	}
	return v, err
}

// Put stores a value under key.
func (j *Journal) Put(key string, v []byte) error {
	err := j.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte(key), v) })
	if err == nil && key == keyCredential {
		j.saveIdentity()
	}
	return err
}

// Each calls fn for every meta value whose key starts with prefix.
func (j *Journal) Each(prefix string, fn func(key string, v []byte) error) error {
	return j.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMeta).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}
