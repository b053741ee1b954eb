// Package up runs the whole system on one machine: the ledger on its embedded store and
// an agent against it, with a sample catalogue and a team with a first pack. It is what
// a single-workstation user runs for real, and the quickest way to see tollgate work.
package up

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tollgate/agent"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/clock"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/platform"
)

// Options says where things go. Zero values mean the defaults.
type Options struct {
	Data      string // the data folder; default the user's config folder/tollgate
	DB        string // sqlite:PATH (default in Data) or postgres://...
	Listen    string // the ledger's address; default 127.0.0.1:7480
	ClockFile string // a test clock for the ledger and the agent
	Socket    string // the local API; default the system's as root, else in Data
	Out       io.Writer
	Version   string // the agent's version, for the ledger's Devices page; default the build's
}

// The sample catalogue: what a small design office runs, at the rates of charging.md.
var products = []struct {
	id, name string
	rate     int64
	// The executable's file name on Windows, on macOS (inside the app bundle, as
	// config/example.yaml names them; Revit has no Mac version, so a program named Revit
	// stands in) and elsewhere.
	win, mac, other string
}{
	{"revit", "Autodesk Revit", 10, "Revit.exe", "Revit", "Revit"},
	{"autocad", "AutoCAD", 7, "acad.exe", "AutoCAD", "acad"},
	{"rhino", "Rhino", 5, "Rhino.exe", "Rhinoceros", "Rhino"},
	{"sketchup", "SketchUp", 3, "SketchUp.exe", "SketchUp", "SketchUp"},
}

const (
	team      = "studio"
	firstPack = 200
)

// Run runs the ledger and the agent until ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Data == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("no data folder: give --data (%w)", err)
		}
		o.Data = filepath.Join(dir, "tollgate")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:7480"
	}
	if o.DB == "" {
		o.DB = "sqlite:" + filepath.Join(o.Data, "ledger.db")
	}
	// The port first: an up that cannot serve must leave nothing behind.
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("the ledger cannot listen on %s (%w): is another tollgate up running? Stop it, or give another address with --listen 127.0.0.1:7481", o.Listen, err)
	}
	defer ln.Close()
	socket, note, err := chooseSocket(ctx, o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(o.Data, "conf.d"), 0o700); err != nil {
		return err
	}
	log, err := fileLogger(filepath.Join(o.Data, "tollgate.log"))
	if err != nil {
		return err
	}
	defer log.Sync()

	st, err := store.Open(ctx, o.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	clk := clock.Real() // one clock for the ledger and the agent
	if o.ClockFile != "" {
		c, err := platform.NewFileClock(o.ClockFile)
		if err != nil {
			return err
		}
		clk = c
	}
	me, err := licensingUser()
	if err != nil {
		return err
	}
	admin, err := bootstrap(ctx, st, o.Data, me, clk.Now())
	if err != nil {
		return err
	}

	srv := ledger.New(ledger.Options{Store: st, Clock: clk, Logger: log.Named("ledger")})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()

	if err := writeConfig(o.Data, url, runtime.GOOS); err != nil {
		return err
	}
	opts := agent.Options{ConfigFile: filepath.Join(o.Data, "tollgate.yaml"), StateDir: filepath.Join(o.Data, "state"),
		Socket: socket, Logger: log, Gate: os.Geteuid() == 0, Clock: clk, Version: o.Version}
	cli, err := cliPath(o.Data)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			cancel(fmt.Errorf("ledger: %w", err))
		}
	})
	wg.Go(func() { srv.Run(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		hs.Shutdown(sctx)
	})

	a, err := agent.New(opts)
	if err != nil {
		cancel(err)
		wg.Wait()
		return err
	}
	if socket != platform.DefaultPaths().Socket {
		unregister, err := platform.Register(socket)
		if err != nil {
			log.Warn("clients will need --socket: registering the agent failed", zap.Error(err))
		} else {
			defer unregister()
		}
	}
	msgs, unsubscribe := a.Subscribe("")
	defer unsubscribe()
	wg.Go(func() {
		if err := a.Run(ctx); err != nil {
			cancel(fmt.Errorf("agent: %w", err))
		}
	})

	out := o.Out
	fmt.Fprintf(out, `tollgate is up.
  data folder   %s
  ledger        %s (%s)
  console       %s/admin/ (sign in with the admin token)
  admin token   %s (also in %s)
  local API     %s%s
  you are       %s, in team %s
  log           %s
`, o.Data, url, st.Dialect(), url, admin, filepath.Join(o.Data, ledger.TokenFile), socket, note, me, team, filepath.Join(o.Data, "tollgate.log"))
	for _, p := range products {
		fmt.Fprintf(out, "  product       %-15s %2d tokens a day, started as %s\n", p.name, p.rate, exeName(p.win, p.mac, p.other, runtime.GOOS))
	}
	balance := int64(0)
	if t, err := st.Team(ctx, team, clk.Now()); err == nil {
		balance = t.Balance.Available
		fmt.Fprintf(out, "  balance       %s\n", t.Balance.Text())
	}
	fmt.Fprint(out, hints(runtime.GOOS, os.Geteuid() == 0, cli, url, admin, team, filepath.Join(o.Data, "tollgate.yaml")))
	fmt.Fprintln(out, "Watching launches; Ctrl-C stops.")

	wg.Go(func() { watch(ctx, out, msgs, st, clk.Now, balance) })
	<-ctx.Done()
	cause := context.Cause(ctx)
	if errors.Is(cause, context.Canceled) {
		fmt.Fprintln(out, "Stopping...")
	}
	wg.Wait()
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	fmt.Fprintf(out, "Stopped. Everything is kept in %s; run tollgate up again to go on.\n", o.Data)
	return nil
}

// chooseSocket picks the local API's address. As root it is the system service's, so that
// every user's client and notifier find it with no flag and the agent tells them apart by
// their OS identity; when a service already serves there, or without root, it is in the data
// folder, registered for this user's clients.
func chooseSocket(ctx context.Context, o Options) (socket, note string, err error) {
	if o.Socket != "" {
		return o.Socket, "", nil
	}
	own := localAPI(o.Data)
	if runtime.GOOS == "windows" {
		return own, "", nil
	}
	if os.Geteuid() != 0 {
		return own, " (yours only; run as root to serve every user on this machine)", nil
	}
	system := platform.DefaultPaths().Socket
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if c, err := platform.Dial(dctx, system); err == nil {
		c.Close()
		return own, " (a tollgate service already serves " + system + ": stop it with 'tollgate stop' to avoid metering twice)", nil
	}
	return system, " (every user of this machine reaches it)", nil
}

// cliPath is a tollgate binary the printed commands can name: this one, or under `go run`
// (whose binary is deleted when it exits) a copy in a place that outlives it. As root the
// copy is beside the socket, where every user may run it.
func cliPath(data string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if !strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return exe, nil
	}
	dir := filepath.Join(data, "bin")
	if runtime.GOOS != "windows" && os.Geteuid() == 0 {
		dir = filepath.Join(filepath.Dir(platform.DefaultPaths().Socket), "bin")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(exe))
	if runtime.GOOS == "windows" && !strings.HasSuffix(dst, ".exe") {
		dst += ".exe"
	} else if runtime.GOOS != "windows" {
		dst = filepath.Join(dir, "tollgate")
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		return "", err
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

func shellQuote(s string) string {
	if !strings.ContainsAny(s, " '\"$\\") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// exeName is the product's executable as goos names it.
func exeName(win, mac, other, goos string) string {
	switch goos {
	case "windows":
		return win
	case "darwin":
		return mac
	}
	return other
}

// watch prints what the agent tells its users, the balance when it changes, and the notices
// the ledger sends the team's admins.
func watch(ctx context.Context, out io.Writer, msgs <-chan localapi.Message, st *store.DB, now func() time.Time, balance int64) {
	seen := int64(0)
	if ns, err := st.Notifications(ctx, team); err == nil {
		for _, n := range ns {
			seen = max(seen, n.ID)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			fmt.Fprintf(out, "%s  %s  %s: %s\n", m.At.Local().Format("2006-01-02 15:04"), m.User, m.Title, m.Body)
			if t, err := st.Team(ctx, team, now()); err == nil && t.Balance.Available != balance {
				balance = t.Balance.Available
				fmt.Fprintf(out, "                  team %s: %s\n", team, t.Balance.Text())
			}
		case <-tick.C:
			ns, err := st.Notifications(ctx, team)
			if err != nil {
				continue
			}
			for _, n := range ns {
				if n.ID > seen {
					seen = n.ID
					fmt.Fprintf(out, "%s  notice to admins: %s\n", n.Created.Local().Format("2006-01-02 15:04"), noticeText(n))
				}
			}
		}
	}
}

// noticeText says in a sentence what a ledger notice tells the team's admins.
func noticeText(n api.Notification) string {
	var p struct {
		Available *int64        `json:"available"`
		Threshold int64         `json:"threshold"`
		Debt      int64         `json:"debt"`
		Level     int64         `json:"level"`
		Budget    charge.Budget `json:"budget"`
		Limit     int64         `json:"limit"`
	}
	json.Unmarshal(n.Payload, &p)
	switch n.Kind {
	case api.NoticeLow:
		if p.Available != nil {
			return fmt.Sprintf("team %s is low on tokens: %d left, below its threshold of %d", n.Team, *p.Available, p.Threshold)
		}
	case api.NoticeEmpty:
		return fmt.Sprintf("team %s has no tokens left; buy a pack", n.Team)
	case api.NoticeExpiring:
		return fmt.Sprintf("some of team %s's tokens expire within 90 days", n.Team)
	case api.NoticeOverdraw:
		return fmt.Sprintf("team %s is %d tokens in debt: a renewal went past its balance; buy a pack", n.Team, p.Debt)
	case api.NoticeBudget:
		if p.Budget.Period.Valid() {
			return fmt.Sprintf("the cap on %s reached %d %% (%d of %d tokens a %s)", p.Budget.Scope(), p.Level, p.Budget.Used, p.Limit, p.Budget.Period)
		}
	}
	return fmt.Sprintf("%s for team %s", strings.ReplaceAll(string(n.Kind), "_", " "), n.Team)
}

// bootstrap makes, on the first run, the team, the catalogue, this user's assignment, a
// first pack, an admin token and an enrollment token; later runs keep what is there.
func bootstrap(ctx context.Context, st *store.DB, data, me string, now time.Time) (string, error) {
	tokFile := filepath.Join(data, ledger.TokenFile)
	if b, err := os.ReadFile(tokFile); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if _, err := st.CreateTeam(ctx, api.NewTeam{ID: team, Name: "Studio"}, now); err != nil && store.Code(err) != api.CodeConflict {
		return "", err
	}
	for _, p := range products {
		if _, err := st.PutProduct(ctx, api.Product{ID: p.id, Name: p.name, Rate: p.rate}, now); err != nil {
			return "", err
		}
	}
	if _, err := st.PutUser(ctx, team, me, api.PutUser{}); err != nil {
		return "", err
	}
	if _, err := st.BuyPack(ctx, team, api.BuyPack{Tokens: firstPack}, now); err != nil {
		return "", err
	}
	enroll, err := st.CreateEnrollToken(ctx, team, now, now.AddDate(10, 0, 0))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(data, "enroll.token"), []byte(enroll.Token+"\n"), 0o600); err != nil {
		return "", err
	}
	admin := store.NewSecret("tga_")
	if err := st.CreateAdminToken(ctx, "", "tollgate up", admin, now); err != nil {
		return "", err
	}
	return admin, os.WriteFile(tokFile, []byte(admin+"\n"), 0o600)
}

// writeConfig writes the agent's config for goos: the catalogue's process rules once (edit
// them at will; they are kept), and the ledger's address on every run, as a drop-in.
func writeConfig(data, url, goos string) error {
	main := filepath.Join(data, "tollgate.yaml")
	if _, err := os.Stat(main); errors.Is(err, os.ErrNotExist) {
		var b strings.Builder
		b.WriteString("# Written by tollgate up on its first run; edit freely, it is kept.\n")
		b.WriteString("admin_contact: \"whoever runs tollgate up on this machine\"\n")
		b.WriteString("identity:\n  template: \"{user}@local\"\nproducts:\n")
		for _, p := range products {
			exe := exeName(p.win, p.mac, p.other, goos)
			fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    match: {exe: [%q]}\n", p.id, p.name, exe)
		}
		if err := os.WriteFile(main, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	dropin := fmt.Sprintf("# Written by tollgate up on every run.\nledger:\n  url: %s\n  enrollment_token_file: %s\n", url, filepath.Join(data, "enroll.token"))
	return os.WriteFile(filepath.Join(data, "conf.d", "00-up.yaml"), []byte(dropin), 0o600)
}

// licensingUser is who runs `up`, as the config's identity template maps them.
func licensingUser() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	name := u.Username
	if _, after, ok := strings.Cut(name, `\`); ok {
		name = after
	}
	return strings.ToLower(name) + "@local", nil
}

func fileLogger(path string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.OutputPaths = []string{path}
	cfg.ErrorOutputPaths = []string{path}
	return cfg.Build()
}
