package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens a pool on the PostgreSQL URL raw, which may name several hosts
// (postgres://h1:5432,h2:5432/db?target_session_attrs=read-write): pgx tries them in
// order on every new connection, so after a failover the pool's next connections reach
// the promoted primary.
//
// The ledger keeps nothing in a database session between transactions: no session SET,
// no session advisory lock (only pg_advisory_xact_lock), no LISTEN, no temporary table.
// What pgx itself keeps, by default, is its cache of named prepared statements: the
// fastest mode on a direct connection (BenchmarkIngestExecMode), and one that a PgBouncer
// in transaction pooling mode breaks (before 1.21, and after it unless
// max_prepared_statements is set), as the next transaction may run on another server
// connection. Behind such a pooler the URL says default_query_exec_mode=exec
// (docs/deploying.md); poolerHint turns the pooler's error into that advice.
func openPostgres(raw string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	return db, nil
}

// poolerHint explains the errors of pgx's prepared statements meeting a pooler that
// does not keep them: a statement prepared on one server connection missing on another
// (26000), or one of the same name already there (42P05).
func poolerHint(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "26000" || pe.Code == "42P05") && strings.Contains(pe.Message, "stmtcache_") {
		return fmt.Errorf("the database connection passes through a pooler that does not keep prepared statements (PgBouncer in transaction mode): add default_query_exec_mode=exec to the PostgreSQL URL (docs/deploying.md): %w", err)
	}
	return err
}
