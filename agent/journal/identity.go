package journal

import (
	"encoding/json"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// The device's identity (its id and ledger credential) is also kept in a small file
// beside the journal, so that a journal lost whole (an empty file) does not make the
// device a stranger to the ledger: re-enrolling needs the enrollment token, which IT may
// have removed after roll-out. It is written when either changes, by rename, readable by
// the service only.

const identityFile = "identity.json"

type identity struct {
	Device     string `json:"device"`
	Credential string `json:"credential,omitempty"`
}

// saveIdentity writes the identity file from the journal when it differs. It is a
// backup: failing to write it (a full disk) leaves the journal, which is what counts.
func (j *Journal) saveIdentity() {
	var id identity
	if j.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		id.Device, id.Credential = string(b.Get(keyDevice)), string(b.Get([]byte(keyCredential)))
		return nil
	}) != nil || id.Device == "" {
		return
	}
	path := filepath.Join(filepath.Dir(j.path), identityFile)
	if old, ok := readIdentity(filepath.Dir(j.path)); ok && old == id {
		return
	}
	data, err := json.Marshal(id)
	if err != nil {
		return
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || os.Rename(tmp, path) != nil {
		os.Remove(tmp)
		return
	}
	syncDir(filepath.Dir(path))
}

// readIdentity reads the identity file in dir.
func readIdentity(dir string) (identity, bool) {
	var id identity
	data, err := os.ReadFile(filepath.Join(dir, identityFile))
	if err != nil || json.Unmarshal(data, &id) != nil || !printable([]byte(id.Device)) {
		return identity{}, false
	}
	if id.Credential != "" && !printable([]byte(id.Credential)) {
		id.Credential = ""
	}
	return id, true
}
