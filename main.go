// Command tollgate is the pay-per-use licensing agent and its central ledger in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a process exit code through run's single return path.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake in the command line; run prints it with a pointer to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// env is what a verb may touch of the outside world, so tests can run verbs in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

type verb struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func verbs() []verb {
	return []verb{
		{"up", "run the whole system on this machine: a ledger and an agent", runUp},
		{"run", "run the agent in the foreground (what the service runs)", runAgent},
		{"status", "show sessions, balance, sync backlog and config health", runStatus},
		{"check", "say whether a launch would be allowed now, and why (exit 0 / 3)", runCheck},
		{"launch", "start a product only if it is allowed", runLaunch},
		{"doctor", "check this computer's tollgate the way support would, and say what to fix", runDoctor},
		{"gate", "Windows's launch gate: run by Windows in place of a product (install --launch-gate)", runGate},
		{"reload", "make the agent re-read its configuration (administrators)", runReload},
		{"install", "install or upgrade the agent as the system service (administrators)", runInstall},
		{"uninstall", "remove the service; --purge also its config, journal and logs (administrators)", runUninstall},
		{"start", "start the installed service (administrators)", runStart},
		{"stop", "stop the installed service (administrators)", runStop},
		{"restart", "restart the installed service (administrators)", runRestart},
		{"notifier", "show the agent's messages to the person at this desk", runNotifier},
		{"ledger", "the central ledger: serve it, and its admin verbs (teams, packs, users, reports)", runLedger},
		{"simulate", "replay a usage timeline and print what it would cost in tokens", runSimulate},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err once and maps it to the process's exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "tollgate:", ee.err)
		}
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "tollgate: %s\nRun 'tollgate --help' for usage.\n", ue.msg)
		return 2
	}
	fmt.Fprintln(stderr, "tollgate:", err)
	return 1
}

func run(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.stdout)
		return nil
	}
	if args[0] == "--version" {
		return runVersion(ctx, e, nil)
	}
	for _, v := range verbs() {
		if v.name == args[0] {
			return v.run(ctx, e, args[1:])
		}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", args[0])}
}

func printUsage(w io.Writer) {
	vs := verbs()
	sort.Slice(vs, func(i, j int) bool { return vs[i].name < vs[j].name })
	var b strings.Builder
	b.WriteString("tollgate meters pay-per-use desktop software with tokens.\n\nUsage:\n  tollgate <command> [arguments]\n\nCommands:\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "  %-10s %s\n", v.name, v.summary)
	}
	b.WriteString("\nRun 'tollgate <command> --help' for a command's arguments.\n")
	io.WriteString(w, b.String())
}

func runVersion(_ context.Context, e env, args []string) error {
	if len(args) > 0 {
		return &usageError{msg: "version takes no arguments"}
	}
	fmt.Fprintf(e.stdout, "tollgate %s\n", version)
	return nil
}
