package main

import (
	"context"

	"tollgate/ledger"
)

func runLedger(ctx context.Context, e env, args []string) error {
	return ledger.Main(ctx, e.stdout, e.stderr, args)
}
