package main

import (
	"context"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tollgate/agent/notifier"
	"tollgate/platform"
)

func runNotifier(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "notifier", `Usage: tollgate notifier [--print] [--socket S]

Shows the agent's messages about your launches (a product not started and why, grace,
charges, renewals, closings) as desktop notifications until interrupted. It runs in each
person's session, as that person; when the agent is not running it waits for it.
`)
	print := fs.Bool("print", false, "write each message to standard output, one line each, instead of the desktop")
	socket := socketFlag(fs)
	if ok, err := parse(fs, args); !ok {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: "notifier takes no arguments"}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	enc.EncodeLevel = zapcore.CapitalLevelEncoder
	enc.EncodeDuration = zapcore.StringDurationEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(zapcore.AddSync(e.stderr)), zap.InfoLevel))
	defer log.Sync()
	opts := notifier.Options{Socket: findAgent(ctx, *socket), Logger: log}
	if *print {
		opts.Display = notifier.NewPrinter(e.stdout)
	} else if h := platform.CheckNotices(); !h.OK {
		log.Warn("notices may not show", zap.String("why", h.Problem))
	}
	return notifier.New(opts).Run(ctx)
}
