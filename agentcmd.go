package main

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

	"tollgate/agent"
	"tollgate/installer"
	"tollgate/platform"
)

// exitDenied is `check`'s and `launch`'s exit code for a launch that is not allowed.
const exitDenied = 3

func newFlags(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(e.stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseAll parses flags wherever they stand among the positional arguments, as people
// type them (`tollgate check revit --json`), and returns the positional ones.
func parseAll(fs *flag.FlagSet, args []string) ([]string, bool, error) {
	var pos []string
	for {
		if ok, err := parse(fs, args); !ok {
			return nil, false, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, true, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parse handles --help (exit 0) and usage errors (exit 2) the same way for every verb.
func parse(fs *flag.FlagSet, args []string) (bool, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, nil
		}
		return false, &usageError{msg: err.Error()}
	}
	return true, nil
}

func runAgent(ctx context.Context, e env, args []string) error {
	paths := platform.DefaultPaths()
	fs := newFlags(e, "run", "Usage: tollgate run [--config PATH]\n\nRuns the agent in the foreground, as the service does, until interrupted.\n")
	cfgPath := fs.String("config", paths.ConfigFile, "the main config file; drop-ins go in conf.d beside it")
	state := fs.String("state", paths.StateDir, "the state folder (journal, device credential)")
	socket := fs.String("socket", paths.Socket, "the local API's socket or pipe")
	clockFile := fs.String("clock-file", "", "read the time from this root-owned file (tests only)")
	gate := fs.Bool("gate", true, "refuse denied launches before they run, where the OS allows it")
	events := fs.Bool("process-events", true, "use the kernel's process events where available; false scans every poll interval")
	retryMax := fs.Duration("sync-retry-max", agent.DefaultRetryMax, "the longest wait between attempts to reach the ledger")
	asService := fs.Bool("service", false, "run as the service manager expects: stop within a bound, exit non-zero on a fatal error (what install sets up)")
	if ok, err := parse(fs, args); !ok {
		return err
	}
	opts := agent.Options{ConfigFile: *cfgPath, StateDir: *state, Socket: *socket, Gate: *gate, PollOnly: !*events, RetryMax: *retryMax}
	if *clockFile != "" {
		c, err := platform.NewFileClock(*clockFile)
		if err != nil {
			return err
		}
		opts.Clock = agent.FileClock{FileClock: c}
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

func socketFlag(fs *flag.FlagSet) *string {
	return fs.String("socket", os.Getenv("TOLLGATE_SOCKET"), "the agent's local API (or set TOLLGATE_SOCKET; default: the service's, else the one `tollgate up` registered)")
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

func runStatus(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "status", "Usage: tollgate status [--json]\n\nShows your sessions, your team's balance, the sync backlog and the config's health.\n")
	asJSON := fs.Bool("json", false, "print JSON")
	socket := socketFlag(fs)
	if ok, err := parse(fs, args); !ok {
		return err
	}
	st, err := agent.NewClient(findAgent(ctx, *socket)).Status(ctx)
	if err != nil {
		return agentErr(err)
	}
	if *asJSON {
		return printJSON(e.stdout, st)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "device\t%s\n", st.Device)
	fmt.Fprintf(tw, "user\t%s%s\n", st.Caller, map[bool]string{true: " (administrator)"}[st.Admin])
	if st.Available != nil {
		bal := fmt.Sprintf("%d tokens", *st.Available)
		if *st.Available <= 0 {
			bal = agent.TeamLeft(*st.Available) // never a negative balance
		}
		fmt.Fprintf(tw, "team balance\t%s (as of %s)\n", bal, st.AsOf.Local().Format("2006-01-02 15:04"))
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
	fmt.Fprintf(tw, "pre-exec gate\t%s\n", st.Gate)
	if h := platform.CheckNotices(); !h.OK {
		fmt.Fprintf(tw, "notices\t%s\n", h.Problem)
	}
	if st.Rollbacks > 0 {
		fmt.Fprintf(tw, "clock\tmoved backwards %d times; ignored\n", st.Rollbacks)
	}
	if j := st.Journal; !j.Writable {
		fmt.Fprintf(tw, "journal\tcannot be written since %s: %s; %d records wait in memory; launches that cost tokens are refused until it can\n",
			j.Since.Local().Format("2006-01-02 15:04:05"), j.Problem, j.Waiting)
	} else {
		fmt.Fprintf(tw, "journal\tok\n")
	}
	tw.Flush()
	for _, d := range st.Journal.Damage {
		fmt.Fprintf(e.stdout, "\njournal damaged, found %s: %s\n  kept as %s\n  %s\n  %s\n  %s\n",
			d.At.Local().Format("2006-01-02 15:04"), d.Problem, d.KeptAt, d.Recovered, d.Lost, d.Todo)
	}
	if len(st.Sessions) > 0 {
		fmt.Fprintln(e.stdout, "\nsessions:")
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  USER\tPRODUCT\tSTATE\tSINCE\tPAID UNTIL\tFREE USE LEFT")
		for _, s := range st.Sessions {
			until, left := "-", "-"
			if !s.Until.IsZero() {
				until = s.Until.Local().Format("Mon 15:04")
			}
			if s.State == "grace" {
				left = s.GraceLeft.Round(time.Second).String()
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.User, s.Product, s.State, s.Start.Local().Format("Mon 15:04"), until, left)
		}
		tw.Flush()
	}
	return nil
}

// ledgerState says in a sentence whether the ledger answers, and if not what to do.
func ledgerState(l *agent.LedgerStatus) string {
	if l.Online {
		return "online"
	}
	return "offline: " + humanNetErr(l.Error)
}

// humanNetErr says what a network error means for reaching the ledger.
func humanNetErr(e string) string {
	switch {
	case strings.Contains(e, "connection refused"):
		e = "nothing answers there (connection refused): is the ledger running?"
	case strings.Contains(e, "no such host"):
		e = "that host name does not resolve: check ledger.url in the config"
	case strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded"):
		e = "no answer in time: a firewall or the network may be in the way"
	case strings.Contains(e, "certificate"):
		e = "its TLS certificate is not trusted by this computer: " + e
	}
	return e
}

func runCheck(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "check", "Usage: tollgate check PRODUCT [--user U] [--json]\n\nSays whether a launch would be allowed now, and why. Exit 0: allowed; 3: denied.\n")
	user := fs.String("user", "", "ask for another user (administrators only)")
	asJSON := fs.Bool("json", false, "print JSON")
	socket := socketFlag(fs)
	pos, ok, err := parseAll(fs, args)
	if !ok {
		return err
	}
	if len(pos) != 1 {
		return &usageError{msg: "check takes one product, e.g. tollgate check revit"}
	}
	res, err := agent.NewClient(findAgent(ctx, *socket)).Check(ctx, pos[0], *user)
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
		return &exitError{code: exitDenied}
	}
	return nil
}

func printDecision(w io.Writer, res agent.CheckResult) {
	verdict := "allowed"
	if !res.Allowed {
		verdict = "denied"
	}
	fmt.Fprintf(w, "%s: %s (%s)\n%s\n", res.Name, verdict, res.Reason, res.Message)
	if !res.Allowed && res.Contact != "" {
		fmt.Fprintf(w, "Contact %s.\n", res.Contact)
	}
}

func runLaunch(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "launch", "Usage: tollgate launch PRODUCT -- CMD [ARGS]\n\nAsks the agent first and starts the product only when it is allowed; a denial says why.\n")
	socket := socketFlag(fs)
	before, cmd := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		before, cmd = args[:i], args[i+1:]
	}
	pos, ok, err := parseAll(fs, before)
	if !ok {
		return err
	}
	if len(pos) != 1 || len(cmd) == 0 {
		return &usageError{msg: "launch takes a product and, after --, the command to start, e.g. tollgate launch revit -- \"C:/Program Files/Autodesk/Revit 2026/Revit.exe\""}
	}
	product := pos[0]
	res, err := agent.NewClient(findAgent(ctx, *socket)).Check(ctx, product, "")
	var ae *agent.APIError
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
		return &exitError{code: exitDenied}
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

func runReload(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "reload", "Usage: tollgate reload\n\nMakes the agent re-read its configuration now (administrators only).\n")
	socket := socketFlag(fs)
	if ok, err := parse(fs, args); !ok {
		return err
	}
	if err := agent.NewClient(findAgent(ctx, *socket)).Reload(ctx); err != nil {
		return agentErr(err)
	}
	fmt.Fprintln(e.stdout, "configuration reloaded")
	return nil
}

// agentErr says what to do when the agent cannot be reached.
func agentErr(err error) error {
	var ae *agent.APIError
	if errors.As(err, &ae) {
		return ae
	}
	if strings.Contains(err.Error(), "is the tollgate service running") {
		return err
	}
	return fmt.Errorf("%w (is the tollgate service running?)", err)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
