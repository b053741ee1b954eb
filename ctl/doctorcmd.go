package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"tollgate/agent/localapi"
	"tollgate/cli"
	"tollgate/ledger/client"
	"tollgate/platform"
)

// finding is one thing doctor looked at: how it stands and, when it is not well, what to do.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
)

// Free space below which the journal may soon fail to record charges, and below which it is
// worth a warning.
const (
	diskFail = 100 << 20
	diskWarn = 1 << 30
)

// maxSkew is how far this computer's clock may be from the ledger's before doctor warns.
const maxSkew = 2 * time.Minute

func DoctorCommand() *cli.Command {
	asJSON, socket := new(bool), new(string)
	return &cli.Command{
		Name: "doctor", Summary: "check this computer's tollgate the way support would, and say what to fix",
		Usage: "[--json]",
		Help: `Checks this computer the way support would: the agent running and reachable, the ledger
reachable and its clock, enrollment, the configuration and its last push, the pre-exec
gate, the sync backlog and the disk the journal is on. Each finding says what to do.
Exit 0 when nothing failed (warnings allowed), 1 when something did.`,
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(asJSON, "json", false, "print JSON")
			socketFlag(fs, socket)
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error {
			return runDoctor(ctx, envOf(e), asJSON, socket)
		},
	}
}

func runDoctor(ctx context.Context, e env, asJSON *bool, socket *string) error {
	fs2 := diagnose(ctx, findAgent(ctx, *socket), http.DefaultClient, time.Now)
	if *asJSON {
		if err := printJSON(e.stdout, fs2); err != nil {
			return err
		}
	} else {
		printFindings(e.stdout, fs2)
	}
	for _, f := range fs2 {
		if f.Status == statusFail {
			return &cli.ExitError{Code: cli.ExitFailed}
		}
	}
	return nil
}

func printFindings(w io.Writer, fs []finding) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(f.Status), f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(tw, "\t\t-> %s\n", f.Fix)
		}
	}
	tw.Flush()
}

// diagnose gathers the findings. now is this computer's clock, compared with the ledger's.
func diagnose(ctx context.Context, socket string, hc *http.Client, now func() time.Time) []finding {
	var out []finding
	add := func(check, status, detail, fix string) {
		out = append(out, finding{Check: check, Status: status, Detail: detail, Fix: fix})
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	st, err := localapi.NewClient(socket).Status(actx)
	cancel()
	if err != nil {
		var ae *localapi.Error
		if errors.As(err, &ae) {
			add("agent", statusFail, fmt.Sprintf("the agent at %s answered: %s", socket, ae.Message), "")
		} else {
			add("agent", statusFail, fmt.Sprintf("no agent answers at %s", socket),
				"start the service as an administrator ('tollgate start', or 'tollgate install' if it was never installed), or run 'tollgate up' to try tollgate on this machine")
		}
		out = append(out, diskFinding(platform.DefaultPaths().StateDir))
		return out
	}
	add("agent", statusOK, fmt.Sprintf("running, answering at %s (device %s)", socket, st.Device), "")

	switch l := st.Ledger; {
	case l == nil:
		add("ledger", statusWarn, "no ledger configured: this agent decides from its configuration alone", "name the ledger in a drop-in: ledger.url and ledger.enrollment_token_file")
	default:
		// Asked directly too: an agent with nothing to send may not have noticed yet.
		theirs, perr := probe(ctx, hc, l.URL)
		switch {
		case perr != nil:
			add("ledger", statusFail, fmt.Sprintf("%s is offline: %s", l.URL, client.Explain(perr.Error())), "check that the ledger runs and that this computer reaches it; meanwhile launches are decided offline for offline_max_age")
		case !l.Enrolled:
			add("ledger", statusFail, fmt.Sprintf("not enrolled with %s: %s", l.URL, orNone(l.Error)), "push the team's enrollment token (tollgate ledger enroll-token) to the file ledger.enrollment_token_file names, mode 0600")
		case !l.Online:
			add("ledger", statusWarn, fmt.Sprintf("%s answers, but the agent's last try failed: %s", l.URL, client.Explain(l.Error)), "")
		default:
			add("ledger", statusOK, fmt.Sprintf("%s online, enrolled", l.URL), "")
		}
		out = append(out, skewFinding(theirs, perr, now()))
	}

	if st.Config.Err != "" {
		add("config", statusFail, "the last push was refused: "+st.Config.Err, "fix the file and line named; the configuration loaded "+st.Config.Loaded.Local().Format(time.DateTime)+" stays in force meanwhile")
	} else if len(st.Config.Warnings) > 0 {
		add("config", statusWarn, strings.Join(st.Config.Warnings, "; "), "")
	} else {
		add("config", statusOK, fmt.Sprintf("loaded %s from %s", st.Config.Loaded.Local().Format(time.DateTime), strings.Join(st.Config.Files, ", ")), "")
	}

	switch {
	case st.Gate == "on":
		add("pre-exec gate", statusOK, "on: denied products never start", "")
	case strings.HasPrefix(st.Gate, "on"):
		add("pre-exec gate", statusWarn, st.Gate, "")
	default:
		add("pre-exec gate", statusWarn, orNone(st.Gate)+": denied products are closed right after they start", "on Linux run the agent as root with CAP_SYS_ADMIN (the installed service does) and give products a match.path")
	}

	switch {
	case st.Backlog == 0:
		add("sync backlog", statusOK, "every charge has reached the ledger", "")
	case st.Ledger != nil && !st.Ledger.Online:
		add("sync backlog", statusWarn, fmt.Sprintf("%d entries wait for the ledger; they are kept in the journal and sent when it answers", st.Backlog), "")
	default:
		add("sync backlog", statusOK, fmt.Sprintf("%d entries being sent", st.Backlog), "")
	}
	if l := st.Ledger; l != nil && l.Refused > 0 {
		add("refused charges", statusWarn, fmt.Sprintf("the ledger refused %d of this computer's entries (last: %s); they are kept in its dead-letter", l.Refused, l.LastRefusal),
			"an admin reads them with 'tollgate ledger report refused' and, once the cause is fixed, re-sends them with 'tollgate ledger dead-letter retry'")
	}
	switch j := st.Journal; {
	case !j.Writable:
		add("journal", statusFail, fmt.Sprintf("cannot be written since %s: %s; launches that cost tokens are refused until it can", j.Since.Local().Format(time.DateTime), j.Problem), "free space on the disk holding the agent's state folder; the agent recovers by itself")
	case len(j.Damage) > 0:
		d := j.Damage[len(j.Damage)-1]
		add("journal", statusWarn, fmt.Sprintf("repaired at %s after damage (%s); the damaged file is kept as %s; %s", d.At.Local().Format(time.DateTime), d.Problem, d.KeptAt, d.Lost), d.Todo)
	default:
		add("journal", statusOK, "written and checked", "")
	}
	if h := platform.CheckNotices(); !h.OK {
		add("notices", statusWarn, h.Problem, "")
	}
	if st.Rollbacks > 0 {
		add("clock", statusWarn, fmt.Sprintf("this computer's clock was set back %d times; tollgate ignored it", st.Rollbacks), "keep time synchronised (NTP, or Windows Time)")
	}
	out = append(out, diskFinding(platform.DefaultPaths().StateDir))
	return out
}

// probe asks the ledger's health check and returns the ledger's clock, from its Date.
func probe(ctx context.Context, hc *http.Client, url string) (time.Time, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, strings.TrimRight(url, "/")+"/healthz", nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("its health check answered %s", resp.Status)
	}
	theirs, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return time.Time{}, nil
	}
	return theirs, nil
}

// skewFinding compares this computer's clock with the ledger's.
func skewFinding(theirs time.Time, perr error, mine time.Time) finding {
	f := finding{Check: "clock"}
	switch {
	case perr != nil:
		f.Status, f.Detail = statusWarn, "cannot compare with the ledger's clock: the ledger does not answer"
		return f
	case theirs.IsZero():
		f.Status, f.Detail = statusWarn, "cannot compare with the ledger's clock: it sent no usable Date"
		return f
	}
	skew := mine.Sub(theirs)
	if skew.Abs() <= maxSkew {
		f.Status, f.Detail = statusOK, fmt.Sprintf("within %s of the ledger's", maxSkew)
		return f
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	f.Status, f.Detail = statusWarn, fmt.Sprintf("about %s %s the ledger's; charges are still taken in the ledger's time", skew.Abs().Round(time.Minute), dir)
	f.Fix = "fix this computer's time synchronisation (NTP, or Windows Time)"
	return f
}

// diskFinding is the free space where the journal lives (or its nearest existing parent).
func diskFinding(dir string) finding {
	f := finding{Check: "disk"}
	for {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	free, err := platform.FreeSpace(dir)
	switch {
	case err != nil:
		f.Status, f.Detail = statusWarn, fmt.Sprintf("cannot read the free space of %s: %v", dir, err)
	case free < diskFail:
		f.Status, f.Detail = statusFail, fmt.Sprintf("%s free on %s: the journal may not be able to record charges, and new charged launches are then refused", size(free), dir)
		f.Fix = "free space on that disk"
	case free < diskWarn:
		f.Status, f.Detail, f.Fix = statusWarn, fmt.Sprintf("only %s free on %s", size(free), dir), "free space on that disk"
	default:
		f.Status, f.Detail = statusOK, fmt.Sprintf("%s free on %s", size(free), dir)
	}
	return f
}

func size(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", b>>10)
}

func orNone(s string) string {
	if s == "" {
		return "off"
	}
	return s
}
