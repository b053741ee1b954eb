package ledger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tollgate/cli"
	"tollgate/ledger/store"
	"tollgate/platform"
)

// defaultData is the ledger's data folder when none is given: a system folder for a ledger
// run as a service (root), the user's config folder otherwise; never the working folder,
// where a super-admin token would land wherever the command happened to be started.
func defaultData() string {
	if os.Geteuid() == 0 || runtime.GOOS == "windows" {
		if runtime.GOOS == "linux" {
			return "/var/lib/tollgate-ledger"
		}
		return filepath.Join(filepath.Dir(platform.DefaultPaths().ConfigFile), "ledger")
	}
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "tollgate-ledger")
	}
	return "tollgate-ledger"
}

// TokenFile is where 'ledger serve' writes the super-admin token it creates on first
// start, in the data directory, readable by its owner only.
const TokenFile = "admin-token"

// serveOpts are the flags of 'ledger serve'.
type serveOpts struct {
	data, db, listen, cert, key, clockFile, metricsTokenFile string
	allowInternal                                            bool
	maxIngests, ingestQueue                                  int
}

func serveCommand() *cli.Command {
	var o serveOpts
	return &cli.Command{
		Name:    "serve",
		Usage:   "[--db URL] [--listen ADDR] [--data DIR] [--tls-cert F --tls-key F]",
		Summary: "serve the ledger's API",
		Help: "Serve the ledger's agent and admin API. On first start a super-admin token is\n" +
			"created, printed, and written to DATA/" + TokenFile + " (mode 0600).",
		Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.data, "data", defaultData(), "data directory: the SQLite database and the super-admin token")
			fs.StringVar(&o.db, "db", "", "database: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite:DATA/ledger.db)")
			fs.StringVar(&o.listen, "listen", "127.0.0.1:7480", "address to listen on")
			fs.StringVar(&o.cert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS")
			fs.StringVar(&o.key, "tls-key", "", "TLS key file (PEM)")
			fs.StringVar(&o.clockFile, "clock-file", "", "read the time from this root-owned file (tests only)")
			fs.StringVar(&o.metricsTokenFile, "metrics-token-file", "", "serve each team's balance at /metrics/teams to a scraper that sends the token in this file (default: team metrics off)")
			fs.IntVar(&o.maxIngests, "max-ingests", DefaultMaxIngests, "event batches applied at once; launch decisions wait behind at most this many chunks of events")
			fs.IntVar(&o.ingestQueue, "ingest-queue", DefaultIngestQueue, "event batches that may wait their turn; past that devices are answered 429 with Retry-After (0: none wait)")
			fs.BoolVar(&o.allowInternal, "webhook-allow-internal", false, "let team webhooks point at this machine or link-local addresses (169.254.0.0/16, fe80::/10)")
		},
		Run: func(ctx context.Context, e cli.Env, _ []string) error { return serve(ctx, e.Stdout, e.Stderr, o) },
	}
}

func serve(ctx context.Context, stdout, stderr io.Writer, o serveOpts) error {
	if (o.cert == "") != (o.key == "") {
		return cli.Usagef("give both --tls-cert and --tls-key, or neither")
	}
	if o.maxIngests < 1 || o.ingestQueue < 0 {
		return cli.Usagef("--max-ingests %d --ingest-queue %d: want at least 1 batch applied at once and 0 or more waiting", o.maxIngests, o.ingestQueue)
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if o.db == "" {
		o.db = "sqlite:" + filepath.Join(o.data, "ledger.db")
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(stderr), zap.InfoLevel))
	defer log.Sync()

	st, err := store.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := Options{Store: st, Logger: log, WebhookAllowInternal: o.allowInternal, MaxIngests: o.maxIngests, IngestQueue: o.ingestQueue}
	if o.ingestQueue == 0 {
		opts.IngestQueue = -1 // Options' zero is the default
	}
	if o.metricsTokenFile != "" {
		b, err := os.ReadFile(o.metricsTokenFile)
		if err != nil {
			return fmt.Errorf("metrics token: %w", err)
		}
		if opts.MetricsToken = strings.TrimSpace(string(b)); len(opts.MetricsToken) < 16 {
			return fmt.Errorf("metrics token in %s: want at least 16 characters", o.metricsTokenFile)
		}
	}
	if o.clockFile != "" {
		c, err := platform.NewFileClock(o.clockFile)
		if err != nil {
			return err
		}
		opts.Clock = c
	}
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock.Now // the token's creation is in the ledger's time, as all it stamps
	}
	if err := bootstrap(ctx, st, o.data, stdout, now()); err != nil {
		return err
	}
	srv := New(opts)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	scheme := "http"
	if o.cert != "" {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "ledger listening on %s://%s (%s database); admin console at %s://%s/admin/\n", scheme, ln.Addr(), st.Dialect(), scheme, ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		sctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		hs.Shutdown(sctx)
	})
	if o.cert != "" {
		err = hs.ServeTLS(ln, o.cert, o.key)
	} else {
		err = hs.Serve(ln)
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// bootstrap creates the super-admin token when the database has none, and writes it to
// the data directory with mode 0600.
func bootstrap(ctx context.Context, st *store.DB, data string, stdout io.Writer, now time.Time) error {
	ok, err := st.HasSuperAdmin(ctx)
	if err != nil || ok {
		return err
	}
	tok := store.NewSecret("tga_")
	made, err := st.CreateFirstSuperAdmin(ctx, tok, now)
	if err != nil || !made {
		return err // another ledger on this database made it first; its data folder has it
	}
	path := filepath.Join(data, TokenFile)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("super-admin token %s: %w; it is valid: note it from here", path, err)
	}
	fmt.Fprintf(stdout, "super-admin token (also in %s):\n%s\n", path, tok)
	return nil
}
