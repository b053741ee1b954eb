package main

import (
	"context"
	"flag"
	"time"

	"tollgate/agent"
	"tollgate/cli"
	"tollgate/ctl"
	"tollgate/installer"
	"tollgate/platform"
)

// runFlags are the flags of `tollgate run`.
type runFlags struct {
	cfgPath, state, socket, clockFile string
	gate, events, asService           bool
	retryMax, cpuEvery                time.Duration
}

func runCommand() *cli.Command {
	var f runFlags
	return &cli.Command{
		Name: "run", Summary: "run the agent in the foreground (what the service runs)",
		Usage: "[--config PATH]", Help: "Runs the agent in the foreground, as the service does, until interrupted.",
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			paths := platform.DefaultPaths()
			fs.StringVar(&f.cfgPath, "config", paths.ConfigFile, "the main config file; drop-ins go in conf.d beside it")
			fs.StringVar(&f.state, "state", paths.StateDir, "the state folder (journal, device credential)")
			fs.StringVar(&f.socket, "socket", paths.Socket, "the local API's socket or pipe")
			fs.StringVar(&f.clockFile, "clock-file", "", "read the time from this root-owned file (tests only)")
			fs.BoolVar(&f.gate, "gate", true, "refuse denied launches before they run, where the OS allows it")
			fs.BoolVar(&f.events, "process-events", true, "use the kernel's process events where available; false scans every poll interval")
			fs.DurationVar(&f.retryMax, "sync-retry-max", agent.DefaultRetryMax, "the longest wait between attempts to reach the ledger")
			fs.DurationVar(&f.cpuEvery, "cpu-every", time.Minute, "how often the products' CPU time is sampled for idleness")
			fs.BoolVar(&f.asService, "service", false, "run as the service manager expects: stop within a bound, exit non-zero on a fatal error (what install sets up)")
		},
		Run: func(ctx context.Context, _ cli.Env, _ []string) error { return runAgent(ctx, &f) },
	}
}

func runAgent(ctx context.Context, f *runFlags) error {
	cfgPath, state, socket, clockFile := &f.cfgPath, &f.state, &f.socket, &f.clockFile
	gate, events, retryMax, asService := &f.gate, &f.events, &f.retryMax, &f.asService
	opts := agent.Options{ConfigFile: *cfgPath, StateDir: *state, Socket: *socket, Gate: *gate, PollOnly: !*events, RetryMax: *retryMax,
		OnConfig: ctl.LaunchGateSync, Version: version, CPUEvery: f.cpuEvery}
	if *clockFile != "" {
		c, err := platform.NewFileClock(*clockFile)
		if err != nil {
			return err
		}
		opts.Clock = c
	}
	start := func(ctx context.Context) error {
		a, err := agent.New(opts)
		if err != nil {
			return err
		}
		return a.Run(ctx)
	}
	if *asService {
		core, closeLog, err := installer.SystemLog(installer.ServiceName)
		if err != nil {
			return err
		}
		defer closeLog()
		opts.LogTee = core
		return installer.RunService(ctx, installer.RunOptions{Run: start})
	}
	return start(ctx)
}
