package store

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens a pool on the PostgreSQL URL raw, which may name several hosts
// (postgres://h1:5432,h2:5432/db?target_session_attrs=read-write): pgx tries them in
// order on every new connection, so after a failover the pool's next connections reach
// the promoted primary.
//
// The ledger keeps nothing in a database session between transactions: no session SET,
// no session advisory lock (only pg_advisory_xact_lock), no LISTEN, no temporary table.
// What pgx itself keeps is its cache of named prepared statements, which a PgBouncer in
// transaction pooling mode breaks (before 1.21, and after it unless
// max_prepared_statements is set): the next transaction may run on another server
// connection, where the statement does not exist. So unless the URL chooses its own
// default_query_exec_mode, the ledger uses "exec": each statement is sent with its
// parameters in one round trip on the unnamed statement, as on a direct connection,
// and works the same through any pooler and across a schema change by another ledger.
func openPostgres(raw string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	if !strings.Contains(raw, "default_query_exec_mode=") {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	return db, nil
}
