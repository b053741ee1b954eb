// Package storetest gives tests a fresh, empty ledger database of each kind: a SQLite
// file in the test's directory, or a new database on the PostgreSQL cluster named by
// TOLLGATE_TEST_POSTGRES (scripts/test starts one).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Env names the variable that holds the URL of the test cluster's postgres database.
const Env = "TOLLGATE_TEST_POSTGRES"

// Kinds are the databases every store test runs against: only PostgreSQL in a run
// through a PgBouncer (BouncerEnv).
func Kinds() []string {
	if os.Getenv(BouncerEnv) != "" {
		return []string{"postgres"}
	}
	return []string{"sqlite", "postgres"}
}

// URL returns the URL of a new empty database of kind ("sqlite" or "postgres"), dropped
// when the test ends. Without TOLLGATE_TEST_POSTGRES the test fails: the PostgreSQL half
// of the suite is not optional.
func URL(t testing.TB, kind string) string {
	t.Helper()
	if kind == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	}
	base := os.Getenv(Env)
	if base == "" {
		t.Fatalf("%s is not set: run scripts/test, or start PostgreSQL (initdb -A trust; pg_ctl start -o '-h 127.0.0.1 -p PORT') and export %s=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable", Env, Env)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	u.Path = "/" + name
	if addr := os.Getenv(BouncerEnv); addr != "" {
		return Via(t, u.String(), addr)
	}
	return u.String()
}
