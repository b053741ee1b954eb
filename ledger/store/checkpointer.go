package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite copies its write-ahead log back into the database (a checkpoint, with a sync of
// the database file) in whichever commit passes the log's size limit: that commit, a
// launch decision as likely as a chunk of a drained backlog, waits for it. The ledger
// checkpoints in the background instead, often enough that the log stays below the limit,
// which is kept, set high, for a background checkpoint that cannot keep up.
const (
	checkpointEvery = 500 * time.Millisecond
	walLimitPages   = 10000 // about 40 MB; SQLite's default is 1,000
)

// checkpointer runs SQLite's passive checkpoints until stop is called. A passive
// checkpoint waits for no reader or writer.
type checkpointer struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	frames atomic.Int64 // log frames copied back so far
}

func (d *DB) startCheckpoints() {
	ctx, cancel := context.WithCancel(context.Background())
	d.checkpoints = &checkpointer{cancel: cancel}
	d.checkpoints.wg.Go(func() {
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// An error (the disk full, the database closing) leaves the log to the
				// commit path's own checkpoint at walLimitPages.
				var busy, log, done int64
				if err := d.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err == nil && done > 0 {
					d.checkpoints.frames.Add(done)
				}
			}
		}
	})
}

func (c *checkpointer) stop() {
	if c == nil {
		return
	}
	c.cancel()
	c.wg.Wait()
}
