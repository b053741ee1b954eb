package ctl

import (
	"context"
	"flag"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tollgate/agent/notifier"
	"tollgate/cli"
	"tollgate/platform"
)

func NotifierCommand() *cli.Command {
	print, socket := new(bool), new(string)
	return &cli.Command{
		Name: "notifier", Summary: "show the agent's messages to the person at this desk",
		Usage: "[--print] [--socket S]",
		Help: `Shows the agent's messages about your launches (a product not started and why, grace,
charges, renewals, closings) as desktop notifications until interrupted. It runs in each
person's session, as that person; when the agent is not running it waits for it.`,
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(print, "print", false, "write each message to standard output, one line each, instead of the desktop")
			socketFlag(fs, socket)
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			return runNotifier(ctx, envOf(e), print, socket)
		},
	}
}

func runNotifier(ctx context.Context, e env, print *bool, socket *string) error {
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
