// Package up runs the whole system on one machine: the ledger on its embedded store and
// an agent against it, with a sample catalogue and a team with a first pack. It is what
// a single-workstation user runs for real, and the quickest way to see tollgate work.
package up

import (
	"context"
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

	"tollgate/agent"
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
	Out       io.Writer
}

// The sample catalogue: what a small design office runs, at the rates of charging.md.
var products = []struct {
	id, name string
	rate     int64
	exe      string // base name of the executable; .exe on Windows
}{
	{"revit", "Autodesk Revit", 10, "Revit"},
	{"autocad", "AutoCAD", 7, "acad"},
	{"rhino", "Rhino", 5, "Rhino"},
	{"sketchup", "SketchUp", 3, "SketchUp"},
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
	var clock ledger.Clock
	if o.ClockFile != "" {
		c, err := platform.NewFileClock(o.ClockFile)
		if err != nil {
			return err
		}
		clock = c
	}
	now := func() time.Time {
		if clock != nil {
			return clock.Now()
		}
		return time.Now()
	}
	me, err := licensingUser()
	if err != nil {
		return err
	}
	admin, err := bootstrap(ctx, st, o.Data, me, now())
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("the ledger cannot listen on %s (%w): give another address with --listen", o.Listen, err)
	}
	srv := ledger.New(ledger.Options{Store: st, Clock: clock, Logger: log.Named("ledger")})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()

	if err := writeConfig(o.Data, url); err != nil {
		return err
	}
	socket := localAPI(o.Data)
	opts := agent.Options{ConfigFile: filepath.Join(o.Data, "tollgate.yaml"), StateDir: filepath.Join(o.Data, "state"),
		Socket: socket, Logger: log, Gate: os.Geteuid() == 0}
	if o.ClockFile != "" {
		c, _ := platform.NewFileClock(o.ClockFile)
		opts.Clock = agent.FileClock{FileClock: c}
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
  admin token   %s (also in %s)
  local API     %s
  you are       %s, in team %s
  log           %s
`, o.Data, url, st.Dialect(), admin, filepath.Join(o.Data, ledger.TokenFile), socket, me, team, filepath.Join(o.Data, "tollgate.log"))
	for _, p := range products {
		fmt.Fprintf(out, "  product       %-15s %2d tokens a day\n", p.name, p.rate)
	}
	if t, err := st.Team(ctx, team, now()); err == nil {
		fmt.Fprintf(out, "  balance       %d tokens available\n", t.Balance.Available)
	}
	fmt.Fprintf(out, "Try: tollgate status --socket %s\n     TOLLGATE_LEDGER_URL=%s TOLLGATE_ADMIN_TOKEN=%s tollgate ledger report tokens --team %s\nWatching launches; Ctrl-C stops.\n", socket, url, admin, team)

	wg.Go(func() { watch(ctx, out, msgs, st, now) })
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// watch prints what the agent tells its users, and the balance after each charge.
func watch(ctx context.Context, out io.Writer, msgs <-chan agent.Message, st *store.DB, now func() time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			fmt.Fprintf(out, "%s  %s: %s\n", m.At.Local().Format("2006-01-02 15:04"), m.Title, m.Body)
			if m.Kind == "charged" || m.Kind == "denied" {
				if t, err := st.Team(ctx, team, now()); err == nil {
					fmt.Fprintf(out, "                  team %s: %d tokens available\n", team, t.Balance.Available)
				}
			}
		}
	}
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

// writeConfig writes the agent's config: the catalogue's process rules once (edit them
// at will; they are kept), and the ledger's address on every run, as a drop-in.
func writeConfig(data, url string) error {
	main := filepath.Join(data, "tollgate.yaml")
	if _, err := os.Stat(main); errors.Is(err, os.ErrNotExist) {
		var b strings.Builder
		b.WriteString("# Written by tollgate up on its first run; edit freely, it is kept.\n")
		b.WriteString("admin_contact: \"whoever runs tollgate up on this machine\"\n")
		b.WriteString("identity:\n  template: \"{user}@local\"\nproducts:\n")
		for _, p := range products {
			exe := p.exe
			if runtime.GOOS == "windows" {
				exe += ".exe"
			}
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
	cfg.OutputPaths = []string{path}
	cfg.ErrorOutputPaths = []string{path}
	return cfg.Build()
}
