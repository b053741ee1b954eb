// Command tollgate is the pay-per-use licensing agent and its central ledger in one binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"tollgate/cli"
	"tollgate/ctl"
	"tollgate/installer"
	"tollgate/ledger"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// env is what a verb may touch of the outside world, so tests can run verbs in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

func envOf(e cli.Env) env { return env{stdout: e.Stdout, stderr: e.Stderr, stdin: e.Stdin} }

// commands is the binary's verb table; each verb declares its flags, help and arguments in
// its own func.
func commands() *cli.Command {
	return &cli.Command{
		Name: "tollgate",
		Help: "tollgate meters pay-per-use desktop software with tokens.",
		Verbs: []*cli.Command{
			upCommand(),
			runCommand(),
			ctl.StatusCommand(),
			ctl.CheckCommand(),
			ctl.LaunchCommand(),
			ctl.DoctorCommand(),
			ctl.ReloadCommand(),
			installCommand(),
			uninstallCommand(),
			controlCommand("start", "start the installed service (administrators)", "Starts the installed service.", installer.Start, "started"),
			controlCommand("stop", "stop the installed service (administrators)", "Stops the installed service; the agent flushes its journal first.", installer.Stop, "stopped"),
			controlCommand("restart", "restart the installed service (administrators)", "Stops the installed service if it runs, then starts it.", installer.Restart, "restarted"),
			ctl.NotifierCommand(),
			ledger.Command(),
			simulateCommand(),
			{Name: "version", Summary: "print the version", Args: cli.Exactly(0, "takes no arguments"), Run: runVersion},
		},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	stop()
	os.Exit(cli.ExitCode(err, os.Stderr))
}

func run(ctx context.Context, e env, args []string) error {
	if len(args) == 1 && args[0] == "--version" {
		return runVersion(ctx, cli.Env{Stdout: e.stdout}, nil)
	}
	// Windows starts the launch gate with a product's own command line, which is no flags of
	// ours: the gate reads the raw line itself.
	if len(args) > 0 && args[0] == "gate" {
		return ctl.RunGate(ctx, cli.Env{Stdout: e.stdout, Stderr: e.stderr, Stdin: e.stdin}, args[1:])
	}
	return cli.Run(ctx, commands(), "tollgate", cli.Env{Stdout: e.stdout, Stderr: e.stderr, Stdin: e.stdin}, args)
}

func runVersion(_ context.Context, e cli.Env, _ []string) error {
	fmt.Fprintf(e.Stdout, "tollgate %s\n", version)
	return nil
}
