package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"tollgate/installer"
)

// serviceFlags are the flags every service verb takes.
func serviceFlags(fs *flag.FlagSet) (root *string, dryRun *bool) {
	root = fs.String("root", "", "act on an install beneath this folder (tests and trials): no service manager is called")
	dryRun = fs.Bool("dry-run", false, "print what would be written where, and change nothing")
	return root, dryRun
}

func runInstall(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "install", `Usage: tollgate install [--config FILE] [--root DIR] [--dry-run]

Installs this tollgate binary, where it is, as the system service that runs the agent at
boot, and the notifier in every user's desktop session; creates the config, state, log and
socket folders with their owners and modes. Over an existing install it upgrades in place:
the journal is kept, with its unsent charges, and so is the config unless --config is given.
Needs root or an elevated administrator.

`)
	cfg := fs.String("config", "", "place this config file as the main config (checked first, with the drop-ins in place); default: keep the one in place, or write the documented default")
	launchGate := fs.Bool("launch-gate", false, "Windows: run tollgate gate before each catalogue product starts (Image File Execution Options), so a denied launch never starts")
	root, dryRun := serviceFlags(fs)
	if ok, err := parseNone(fs, args); !ok {
		return err
	}
	opts := installer.Options{Root: *root, Config: *cfg, Version: version, LaunchGate: *launchGate}
	if *dryRun {
		return describe(e, opts)
	}
	res, err := installer.Install(ctx, opts)
	if err != nil {
		return err
	}
	p := res.Plan
	verb := "installed"
	if res.Upgraded {
		verb = "upgraded in place (journal and state kept)"
	}
	fmt.Fprintf(e.stdout, "tollgate %s %s: %s\n", version, verb, p.CommandLine())
	fmt.Fprintf(e.stdout, "config: %s, %s\n", res.Config, p.Paths.ConfigFile)
	if res.ConfigErr != nil {
		fmt.Fprintf(e.stdout, "warning: the config does not load yet, so the agent will not run until a push fixes it:\n  %s\n",
			strings.ReplaceAll(res.ConfigErr.Error(), "\n", "\n  "))
	}
	fmt.Fprintf(e.stdout, "drop-ins: push them into %s\n", p.DropinDir())
	if opts.LaunchGate {
		fmt.Fprintf(e.stdout, "launch gate: on for %s\n", strings.Join(res.Gate.Set, ", "))
		if len(res.Gate.Foreign) > 0 {
			fmt.Fprintf(e.stdout, "launch gate: left alone, another program is their Debugger: %s\n", strings.Join(res.Gate.Foreign, ", "))
		}
	}
	switch {
	case res.Started:
		fmt.Fprintln(e.stdout, "service: started")
	case p.Root != "":
		fmt.Fprintln(e.stdout, "service: not started (--root has no service manager)")
	}
	return nil
}

func runUninstall(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "uninstall", `Usage: tollgate uninstall [--purge] [--root DIR] [--dry-run]

Stops and removes the service and the notifier's autostart. The config, the journal and the
logs stay, unless --purge is given (which also clears what an earlier uninstall kept).
Needs root or an elevated administrator.

`)
	purge := fs.Bool("purge", false, "also remove the config, state (with any unsent charges) and log folders")
	root, dryRun := serviceFlags(fs)
	if ok, err := parseNone(fs, args); !ok {
		return err
	}
	opts := installer.Options{Root: *root, Version: version}
	if *dryRun {
		p, err := installer.NewPlan(opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "tollgate uninstall for %s would stop and remove the service %s", p.OS, p.Service.Name)
		if p.Service.File != "" {
			fmt.Fprintf(e.stdout, " (%s)", p.Service.File)
		}
		fmt.Fprintln(e.stdout, " and the notifier's autostart:")
		for _, f := range p.Files {
			if f.Role == installer.RoleAutostart {
				fmt.Fprintf(e.stdout, "  %s\n", f.Path)
			}
		}
		if p.Windows != nil {
			fmt.Fprintf(e.stdout, "  %s value %q\n", p.Windows.Notifier.Key, p.Windows.Notifier.Name)
		}
		what := "and keep"
		if *purge {
			what = "then remove, with everything in them,"
		}
		fmt.Fprintf(e.stdout, "%s these folders:\n", what)
		for _, d := range p.Dirs {
			if d.Own {
				fmt.Fprintf(e.stdout, "  %s\n", d.Path)
			}
		}
		return nil
	}
	res, err := installer.Uninstall(ctx, opts, *purge)
	if err != nil {
		return err
	}
	if res.Removed {
		fmt.Fprintf(e.stdout, "removed the %s service and the notifier's autostart\n", res.Plan.Service.Name)
	}
	for _, d := range res.Purged {
		fmt.Fprintf(e.stdout, "purged %s\n", d)
	}
	for _, d := range res.Kept {
		fmt.Fprintf(e.stdout, "kept %s (remove it with: tollgate uninstall --purge)\n", d)
	}
	return nil
}

func runStart(ctx context.Context, e env, args []string) error {
	return controlVerb(ctx, e, args, "start", "Starts the installed service.", installer.Start, "started")
}

func runStop(ctx context.Context, e env, args []string) error {
	return controlVerb(ctx, e, args, "stop", "Stops the installed service; the agent flushes its journal first.", installer.Stop, "stopped")
}

func runRestart(ctx context.Context, e env, args []string) error {
	return controlVerb(ctx, e, args, "restart", "Stops the installed service if it runs, then starts it.", installer.Restart, "restarted")
}

func controlVerb(ctx context.Context, e env, args []string, name, what string,
	f func(context.Context, installer.Options) error, done string) error {
	fs := newFlags(e, name, fmt.Sprintf("Usage: tollgate %s [--root DIR] [--dry-run]\n\n%s Needs root or an elevated administrator.\n\n", name, what))
	root, dryRun := serviceFlags(fs)
	if ok, err := parseNone(fs, args); !ok {
		return err
	}
	opts := installer.Options{Root: *root, Version: version}
	if *dryRun {
		p, err := installer.NewPlan(opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "tollgate %s would ask the service manager to %s the service %s on %s\n", name, name, p.Service.Name, p.OS)
		return nil
	}
	if err := f(ctx, opts); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "tollgate service %s\n", done)
	return nil
}

// describe prints an install's plan for --dry-run.
func describe(e env, opts installer.Options) error {
	p, err := installer.NewPlan(opts)
	if err != nil {
		return err
	}
	return p.Describe(e.stdout)
}

// parseNone parses flags and refuses positional arguments.
func parseNone(fs *flag.FlagSet, args []string) (bool, error) {
	if ok, err := parse(fs, args); !ok {
		return false, err
	}
	if fs.NArg() > 0 {
		return false, &usageError{msg: fmt.Sprintf("%s takes no arguments, only flags; got %q", fs.Name(), fs.Arg(0))}
	}
	return true, nil
}
