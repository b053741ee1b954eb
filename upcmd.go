package main

import (
	"context"
	"flag"

	"tollgate/cli"

	"tollgate/up"
)

func upCommand() *cli.Command {
	var o up.Options
	return &cli.Command{
		Name: "up", Summary: "run the whole system on this machine: a ledger and an agent",
		Usage: "[--data DIR] [--db URL] [--listen ADDR] [--socket PATH]",
		Help: `Runs the whole system on this machine: the ledger (SQLite in the data folder, or
PostgreSQL with --db postgres://...) and an agent against it, with a sample catalogue
and team "studio" with a first pack of tokens. Prints where things are, then what the
agent sees: launches, decisions, charges and the balance.`,
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Data, "data", "", "the data folder (default: your config folder's tollgate)")
			fs.StringVar(&o.DB, "db", "", "sqlite:PATH or postgres://USER@HOST/DB (default: SQLite in the data folder)")
			fs.StringVar(&o.Listen, "listen", "127.0.0.1:7480", "the ledger's address")
			fs.StringVar(&o.Socket, "socket", "", "the agent's local API (default: the system's when run as root, else in the data folder)")
			fs.StringVar(&o.ClockFile, "clock-file", "", "read the time from this root-owned file (tests only)")
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			o.Out, o.Version = e.Stdout, version
			return up.Run(ctx, o)
		},
	}
}
