package main

import (
	"context"

	"tollgate/up"
)

func runUp(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "up", `Usage: tollgate up [--data DIR] [--db URL] [--listen ADDR] [--socket PATH]

Runs the whole system on this machine: the ledger (SQLite in the data folder, or
PostgreSQL with --db postgres://...) and an agent against it, with a sample catalogue
and team "studio" with a first pack of tokens. Prints where things are, then what the
agent sees: launches, decisions, charges and the balance.
`)
	data := fs.String("data", "", "the data folder (default: your config folder's tollgate)")
	db := fs.String("db", "", "sqlite:PATH or postgres://USER@HOST/DB (default: SQLite in the data folder)")
	listen := fs.String("listen", "127.0.0.1:7480", "the ledger's address")
	socket := fs.String("socket", "", "the agent's local API (default: the system's when run as root, else in the data folder)")
	clockFile := fs.String("clock-file", "", "read the time from this root-owned file (tests only)")
	pos, ok, err := parseAll(fs, args)
	if !ok {
		return err
	}
	if len(pos) > 0 {
		return &usageError{msg: "up takes no arguments"}
	}
	return up.Run(ctx, up.Options{Data: *data, DB: *db, Listen: *listen, ClockFile: *clockFile, Socket: *socket, Out: e.stdout})
}
