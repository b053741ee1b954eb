package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"tollgate/ledger/api"
)

// TestCheckpointsInBackground: SQLite's log is copied back by the ledger's own
// checkpointer, not left to a commit.
func TestCheckpointsInBackground(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	var limit int64
	if err := d.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	if limit != walLimitPages {
		t.Errorf("a commit checkpoints past: got %d pages, want %d", limit, walLimitPages)
	}
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	if _, err := d.CreateTeam(ctx, api.NewTeam{ID: "studio"}, now); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := d.BuyPack(ctx, "studio", api.BuyPack{Tokens: 100}, now); err != nil {
			t.Fatal(err)
		}
	}
	for d.checkpoints.frames.Load() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the log was never checkpointed in the background")
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Close waits for the checkpointer to stop: a checkpointer that did not would hang it.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
