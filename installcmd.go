package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"tollgate/cli"
	"tollgate/installer"
)

// serviceFlags are the flags every service verb takes.
func serviceFlags(fs *flag.FlagSet, root *string, dryRun *bool) {
	fs.StringVar(root, "root", "", "act on an install beneath this folder (tests and trials): no service manager is called")
	fs.BoolVar(dryRun, "dry-run", false, "print what would be written where, and change nothing")
}

func installCommand() *cli.Command {
	cfg, root, dryRun, launchGate := new(string), new(string), new(bool), new(bool)
	return &cli.Command{
		Name: "install", Summary: "install or upgrade the agent as the system service (administrators)",
		Usage: "[--config FILE] [--launch-gate] [--root DIR] [--dry-run]",
		Help: `Installs this tollgate binary, where it is, as the system service that runs the agent at
boot, and the notifier in every user's desktop session; creates the config, state, log and
socket folders with their owners and modes. Over an existing install it upgrades in place:
the journal is kept, with its unsent charges, and so is the config unless --config is given.
Needs root or an elevated administrator.`,
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(cfg, "config", "", "place this config file as the main config (checked first, with the drop-ins in place); default: keep the one in place, or write the documented default")
			fs.BoolVar(launchGate, "launch-gate", false, "Windows: run tollgate gate before each catalogue product starts (Image File Execution Options), so a denied launch never starts")
			serviceFlags(fs, root, dryRun)
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			return runInstall(ctx, envOf(e), cfg, root, dryRun, launchGate)
		},
	}
}

func runInstall(ctx context.Context, e env, cfg, root *string, dryRun, launchGate *bool) error {
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

func uninstallCommand() *cli.Command {
	purge, root, dryRun := new(bool), new(string), new(bool)
	return &cli.Command{
		Name: "uninstall", Summary: "remove the service; --purge also its config, journal and logs (administrators)",
		Usage: "[--purge] [--root DIR] [--dry-run]",
		Help: `Stops and removes the service and the notifier's autostart. The config, the journal and the
logs stay, unless --purge is given (which also clears what an earlier uninstall kept).
Needs root or an elevated administrator.`,
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(purge, "purge", false, "also remove the config, state (with any unsent charges) and log folders")
			serviceFlags(fs, root, dryRun)
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			return runUninstall(ctx, envOf(e), purge, root, dryRun)
		},
	}
}

func runUninstall(ctx context.Context, e env, purge *bool, root *string, dryRun *bool) error {
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

// controlCommand is start, stop or restart of the installed service.
func controlCommand(name, summary, what string, f func(context.Context, installer.Options) error, done string) *cli.Command {
	root, dryRun := new(string), new(bool)
	return &cli.Command{
		Name: name, Summary: summary, Usage: "[--root DIR] [--dry-run]",
		Help:  what + " Needs root or an elevated administrator.",
		Args:  cli.NoArgs,
		Flags: func(fs *flag.FlagSet) { serviceFlags(fs, root, dryRun) },
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			return controlVerb(ctx, envOf(e), name, f, done, root, dryRun)
		},
	}
}

func controlVerb(ctx context.Context, e env, name string, f func(context.Context, installer.Options) error, done string, root *string, dryRun *bool) error {
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
