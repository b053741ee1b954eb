// Package store keeps the ledger's records in SQLite or PostgreSQL behind one schema. The
// rules themselves come from package charge: a team's pool is loaded under a row lock,
// changed by charge.Pool's methods and written back with one movement per change, so
// every balance can be recomputed from the movements.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the ledger's store.
type DB struct {
	db      *sql.DB
	dialect Dialect
	watch   balanceWatchers
	stmts   *atomic.Int64 // see CountStatements
	prio    priority      // decisions before bulk work
	// writing serializes SQLite's write transactions in this process: SQLite has one
	// writer, and a writer waiting in its busy handler polls with sleeps of up to 100 ms,
	// where one waiting here is woken the moment the last one commits, a launch decision
	// before any other.
	writing writer
	// checkpoints is SQLite's background checkpointer (checkpointer.go).
	checkpoints *checkpointer
}

// Open connects to url ("sqlite:PATH" or "postgres://...") and applies the migrations
// the database lacks.
func Open(ctx context.Context, url string) (*DB, error) {
	d, err := open(url)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	if d.dialect == SQLite {
		d.startCheckpoints()
	}
	return d, nil
}

func open(raw string) (*DB, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("database %q: want sqlite:PATH", raw)
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("database directory: %w", err)
			}
		}
		// Money records: full sync on every commit, WAL so readers do not block the
		// writer, and IMMEDIATE transactions so that two writers queue on the lock
		// instead of failing when one upgrades from reading to writing.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(30000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(ON)")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walLimitPages))
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		db.SetMaxOpenConns(8)
		return &DB{db: db, dialect: SQLite}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		db, err := openPostgres(raw)
		if err != nil {
			return nil, err
		}
		return &DB{db: db, dialect: Postgres}, nil
	}
	return nil, fmt.Errorf("database %q: want sqlite:PATH or postgres://USER@HOST:PORT/DB", raw)
}

// CountStatements makes d add every statement it sends in a transaction (BEGIN and
// COMMIT included) to n, for tests and benchmarks that hold the ledger to a number of
// round trips. Call it before d is used.
func (d *DB) CountStatements(n *atomic.Int64) { d.stmts = n }

func (d *DB) counted() {
	if d.stmts != nil {
		d.stmts.Add(1)
	}
}

// Dialect reports which database d uses.
func (d *DB) Dialect() Dialect { return d.dialect }

// SQL is the database handle, for benchmarks that measure the floor of the database.
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error {
	d.checkpoints.stop()
	return d.db.Close()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// rebind turns the shared SQL, written with ? placeholders and a trailing FOR UPDATE or
// FOR NO KEY UPDATE where a row lock is wanted, into the dialect's: $n for PostgreSQL; no
// row lock for SQLite, whose IMMEDIATE transactions already hold the database's write
// lock.
func (d *DB) rebind(q string) string {
	if d.dialect == SQLite {
		return strings.Replace(strings.Replace(q, " FOR NO KEY UPDATE", "", 1), " FOR UPDATE", "", 1)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tx is a transaction that speaks the shared SQL.
type tx struct {
	d  *DB
	tx *sql.Tx
}

func (t tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.d.counted()
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.d.counted()
	return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t tx) row(ctx context.Context, q string, args ...any) *sql.Row {
	t.d.counted()
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// write runs fn in a read-write transaction, again when the database reports a
// serialization failure or deadlock, which are safe to retry from the start.
func (d *DB) write(ctx context.Context, fn func(tx) error) error {
	return d.inTx(ctx, txKind{}, fn)
}

// decision is write for a launch decision: on SQLite it takes the database's write lock
// before any other writer waiting for it.
func (d *DB) decision(ctx context.Context, fn func(tx) error) error {
	return d.inTx(ctx, txKind{urgent: true}, fn)
}

// read runs fn in a read-only transaction: one consistent view of several queries.
func (d *DB) read(ctx context.Context, fn func(tx) error) error {
	return d.inTx(ctx, txKind{readOnly: true}, fn)
}

type txKind struct{ readOnly, urgent bool }

func (d *DB) inTx(ctx context.Context, kind txKind, fn func(tx) error) error {
	opts := &sql.TxOptions{ReadOnly: kind.readOnly}
	if kind.readOnly && d.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	for attempt := 0; ; attempt++ {
		err := d.once(ctx, opts, kind.urgent, fn)
		if err == nil || attempt >= 20 || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

func (d *DB) once(ctx context.Context, opts *sql.TxOptions, urgent bool, fn func(tx) error) error {
	if d.dialect == SQLite && !opts.ReadOnly {
		if err := d.writing.lock(ctx, urgent); err != nil {
			return err
		}
		defer d.writing.unlock()
	}
	d.counted()
	t, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx{d, t}); err != nil {
		t.Rollback()
		return poolerHint(err)
	}
	d.counted()
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}

// unique reports a violated unique or primary key constraint.
func unique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}

// Times are kept as Unix nanoseconds in BIGINT columns: exact, ordered and the same in
// both databases.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
