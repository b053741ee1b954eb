package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/cli"
	"tollgate/ledger/client"
	"tollgate/platform"
)

func socketFlag(fs *flag.FlagSet, socket *string) {
	fs.StringVar(socket, "socket", os.Getenv("TOLLGATE_SOCKET"), "the agent's local API (or set TOLLGATE_SOCKET; default: the service's, else the one 'tollgate up' registered)")
}

// findAgent picks the local API to talk to: the one given (--socket, TOLLGATE_SOCKET), else
// the system service's if it answers, else the one this user's `tollgate up` registered. With
// none answering it returns the service's, so the error names the usual place.
func findAgent(ctx context.Context, given string) string {
	if given != "" {
		return given
	}
	system := platform.DefaultPaths().Socket
	candidates := []string{system}
	if reg, _ := platform.Registered(); reg != "" && reg != system {
		candidates = append(candidates, reg)
	}
	for _, s := range candidates {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := platform.Dial(dctx, s)
		cancel()
		if err == nil {
			c.Close()
			return s
		}
	}
	return candidates[len(candidates)-1]
}

func StatusCommand() *cli.Command {
	asJSON, socket := new(bool), new(string)
	return &cli.Command{
		Name: "status", Summary: "show sessions, balance, sync backlog and config health",
		Usage: "[--json]", Help: "Shows your sessions, your team's balance, the sync backlog and the config's health.",
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(asJSON, "json", false, "print JSON")
			socketFlag(fs, socket)
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			return runStatus(ctx, envOf(e), asJSON, socket)
		},
	}
}

func runStatus(ctx context.Context, e env, asJSON *bool, socket *string) error {
	st, err := localapi.NewClient(findAgent(ctx, *socket)).Status(ctx)
	if err != nil {
		return agentErr(err)
	}
	if *asJSON {
		return printJSON(e.stdout, st)
	}
	printStatus(e.stdout, st, platform.CheckNotices(), time.Local)
	return nil
}

// printStatus writes status for a person: what the agent says, and whether this desktop
// can show its notices. Times are in loc.
func printStatus(w io.Writer, st localapi.Status, notices platform.NoticeHealth, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "device\t%s\n", st.Device)
	fmt.Fprintf(tw, "user\t%s%s\n", st.Caller, map[bool]string{true: " (administrator)"}[st.Admin])
	if st.Available != nil {
		bal := fmt.Sprintf("%d tokens", *st.Available)
		if *st.Available <= 0 {
			bal = charge.TeamLeft(*st.Available) // never a negative balance
		}
		fmt.Fprintf(tw, "team balance\t%s (as of %s)\n", bal, st.AsOf.In(loc).Format("2006-01-02 15:04"))
	}
	for _, b := range st.Budgets {
		fmt.Fprintf(tw, "budget\t%s\n", b.String(st.Now))
	}
	fmt.Fprintf(tw, "sync backlog\t%d\n", st.Backlog)
	if l := st.Ledger; l != nil {
		fmt.Fprintf(tw, "ledger\t%s (%s)\n", l.URL, ledgerState(l))
		if l.Refused > 0 {
			fmt.Fprintf(tw, "refused by ledger\t%d (last: %s); an admin sees them with 'tollgate ledger report refused' and re-sends them with 'tollgate ledger dead-letter retry'\n", l.Refused, l.LastRefusal)
		}
	}
	cfg := "ok"
	if st.Config.Err != "" {
		cfg = "last push refused: " + st.Config.Err
	}
	fmt.Fprintf(tw, "config\t%s\n", cfg)
	if len(st.Config.Restart) > 0 {
		fmt.Fprintf(tw, "waiting for a restart\t%s (pushed, but the agent applies them only when it restarts)\n", strings.Join(st.Config.Restart, ", "))
	}
	fmt.Fprintf(tw, "pre-exec gate\t%s\n", st.Gate)
	if !notices.OK {
		fmt.Fprintf(tw, "notices\t%s\n", notices.Problem)
	}
	if st.Rollbacks > 0 {
		times := fmt.Sprintf("%d times", st.Rollbacks)
		if st.Rollbacks == 1 {
			times = "once"
		}
		fmt.Fprintf(tw, "clock\tset back %s; tollgate kept its own time, so nobody gained or lost use\n", times)
	}
	if j := st.Journal; !j.Writable {
		fmt.Fprintf(tw, "journal\tcannot be written since %s: %s; %d records wait in memory; launches that cost tokens are refused until it can\n",
			j.Since.In(loc).Format("2006-01-02 15:04:05"), j.Problem, j.Waiting)
	} else {
		fmt.Fprintf(tw, "journal\tok\n")
	}
	tw.Flush()
	for _, d := range st.Journal.Damage {
		fmt.Fprintf(w, "\njournal damaged, found %s: %s\n  kept as %s\n  %s\n  %s\n  %s\n",
			d.At.In(loc).Format("2006-01-02 15:04"), d.Problem, d.KeptAt, d.Recovered, d.Lost, d.Todo)
	}
	if len(st.Sessions) > 0 {
		fmt.Fprintln(w, "\nsessions:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  USER\tPRODUCT\tSTATE\tSINCE\tPAID UNTIL\tFREE USE LEFT")
		for _, s := range st.Sessions {
			until, left := "-", "-"
			if !s.Until.IsZero() {
				until = s.Until.In(loc).Format("Mon 15:04")
			}
			if s.State == charge.PhaseGrace {
				left = s.GraceLeft.Round(time.Second).String()
			}
			state := string(s.State)
			if !s.IdleSince.IsZero() {
				state += ", idle since " + s.IdleSince.In(loc).Format("Mon 15:04")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.User, s.Product, state, s.Start.In(loc).Format("Mon 15:04"), until, left)
		}
		tw.Flush()
	}
}

// ledgerState says in a sentence whether the ledger answers, and if not what to do.
func ledgerState(l *localapi.LedgerStatus) string {
	if l.Online {
		return "online"
	}
	return "offline: " + client.Explain(l.Error)
}

func CheckCommand() *cli.Command {
	user, asJSON, socket := new(string), new(bool), new(string)
	return &cli.Command{
		Name: "check", Summary: "say whether a launch would be allowed now, and why (exit 0 / 3)",
		Usage: "PRODUCT [--user U] [--json]", Help: "Says whether a launch would be allowed now, and why. Exit 0: allowed; 3: denied.",
		Args: cli.Exactly(1, "takes one product, e.g. tollgate check revit"),
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(user, "user", "", "ask for another user (administrators only)")
			fs.BoolVar(asJSON, "json", false, "print JSON")
			socketFlag(fs, socket)
		},
		Run: func(ctx context.Context, e cli.Env, pos []string) error {
			return runCheck(ctx, envOf(e), pos, user, asJSON, socket)
		},
	}
}

func runCheck(ctx context.Context, e env, pos []string, user *string, asJSON *bool, socket *string) error {
	res, err := localapi.NewClient(findAgent(ctx, *socket)).Check(ctx, pos[0], *user)
	if err != nil {
		return agentErr(err)
	}
	if *asJSON {
		if err := printJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		printDecision(e.stdout, res)
	}
	if !res.Allowed {
		return &cli.ExitError{Code: cli.ExitDenied}
	}
	return nil
}

func printDecision(w io.Writer, res localapi.CheckResult) {
	verdict := "allowed"
	if !res.Allowed {
		verdict = "denied"
	}
	fmt.Fprintf(w, "%s: %s (%s)\n%s\n", res.Name, verdict, res.Reason, res.Message)
	if !res.Allowed && res.Contact != "" {
		fmt.Fprintf(w, "Contact %s.\n", res.Contact)
	}
}

func LaunchCommand() *cli.Command {
	socket := new(string)
	return &cli.Command{
		Name: "launch", Summary: "start a product only if it is allowed",
		Usage: "PRODUCT -- CMD [ARGS]", Help: "Asks the agent first and starts the product only when it is allowed; a denial says why.",
		Dash:  true,
		Flags: func(fs *flag.FlagSet) { socketFlag(fs, socket) },
		Run: func(ctx context.Context, e cli.Env, args []string) error {
			return runLaunch(ctx, envOf(e), args, socket)
		},
	}
}

func runLaunch(ctx context.Context, e env, args []string, socket *string) error {
	pos, cmd := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		pos, cmd = args[:i], args[i+1:]
	}
	if len(pos) != 1 || len(cmd) == 0 {
		return cli.Usagef("launch takes a product and, after --, the command to start, e.g. tollgate launch revit -- \"C:/Program Files/Autodesk/Revit 2026/Revit.exe\"")
	}
	product := pos[0]
	res, err := localapi.NewClient(findAgent(ctx, *socket)).Check(ctx, product, "")
	var ae *localapi.Error
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Code != "unknown_product":
		return ae
	default:
		// launch never refuses what starting the program directly would allow: with no
		// agent answering, or a program the catalogue does not list, nothing would stop
		// it, and the agent (when it runs) decides it as it starts.
		fmt.Fprintf(e.stderr, "tollgate: starting %s without asking the agent: %v\n", cmd[0], agentErr(err))
		res.Allowed = true
	}
	if !res.Allowed {
		printDecision(e.stderr, res)
		return &cli.ExitError{Code: cli.ExitDenied}
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd[0], err)
	}
	if res.Name != "" {
		fmt.Fprintf(e.stderr, "%s: allowed (%s); started %s, process %d\n%s\n", res.Name, res.Reason, cmd[0], c.Process.Pid, res.Message)
	}
	return c.Process.Release()
}

func ReloadCommand() *cli.Command {
	socket := new(string)
	return &cli.Command{
		Name: "reload", Summary: "make the agent re-read its configuration (administrators)",
		Help:  "Makes the agent re-read its configuration now (administrators only).",
		Args:  cli.NoArgs,
		Flags: func(fs *flag.FlagSet) { socketFlag(fs, socket) },
		Run:   func(ctx context.Context, e cli.Env, _ []string) error { return runReload(ctx, envOf(e), socket) },
	}
}

func runReload(ctx context.Context, e env, socket *string) error {
	if err := localapi.NewClient(findAgent(ctx, *socket)).Reload(ctx); err != nil {
		return agentErr(err)
	}
	fmt.Fprintln(e.stdout, "configuration reloaded")
	return nil
}

// agentErr says what to do when the agent cannot be reached.
func agentErr(err error) error {
	var ae *localapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, localapi.ErrAgentTimeout) || strings.Contains(err.Error(), "is the tollgate service running") {
		return err
	}
	return fmt.Errorf("%w (is the tollgate service running?)", err)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
