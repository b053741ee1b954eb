// Package ledger is tollgate's central endpoint and the source of truth for balances:
// teams and their token pools, the catalogue, users, devices, holds, charges and the
// movement ledger, served as a versioned JSON API to agents (under /v1/) and to admins
// (under /v1/admin/), with reports, webhook notifications and Prometheus metrics.
// Storage is package store; the rules are package charge.
package ledger

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"tollgate/charge"
	"tollgate/clock"
	"tollgate/ledger/api"
	"tollgate/ledger/console"
	"tollgate/ledger/store"
)

// Store is what the server keeps its records in; *store.DB is the implementation.
type Store interface {
	Ping(ctx context.Context) error

	CreateTeam(ctx context.Context, t api.NewTeam, now time.Time) (api.Team, error)
	Team(ctx context.Context, id string, now time.Time) (api.Team, error)
	Teams(ctx context.Context, scope string, now time.Time) ([]api.Team, error)
	SetRestrictions(ctx context.Context, team string, r api.Restrictions, now time.Time) (api.Team, error)
	SetSettings(ctx context.Context, team string, s api.Settings, now time.Time) (api.Team, error)
	BuyPack(ctx context.Context, team string, b api.BuyPack, now time.Time) (api.Pack, error)
	TransferPack(ctx context.Context, from, id string, t api.Transfer, now time.Time) (api.Pack, error)
	Packs(ctx context.Context, team string) ([]api.Pack, error)

	PutProduct(ctx context.Context, p api.Product, now time.Time) (api.Product, error)
	Products(ctx context.Context) ([]api.Product, error)
	PutUser(ctx context.Context, team, user string, u api.PutUser) (api.User, error)
	User(ctx context.Context, team, user string) (api.User, error)
	Users(ctx context.Context, team string) ([]api.User, error)
	AddSubscription(ctx context.Context, team, user string, s charge.Subscription) (api.User, error)

	CreateEnrollToken(ctx context.Context, team string, now, expires time.Time) (api.Token, error)
	Enroll(ctx context.Context, e api.Enroll, now time.Time) (api.Enrolled, error)
	DeviceByCredential(ctx context.Context, credential string) (api.Device, error)
	Seen(ctx context.Context, device string, now time.Time) error
	Synced(ctx context.Context, device string, a api.AgentInfo, now time.Time) error
	Devices(ctx context.Context, team string) ([]api.Device, error)
	CreateAdminToken(ctx context.Context, team, name, token string, now time.Time) error
	AdminByToken(ctx context.Context, token string) (store.AdminToken, error)

	Entitlement(ctx context.Context, team, user string, now time.Time) (charge.Entitlement, error)
	Authorize(ctx context.Context, team, device string, a api.Authorize, now time.Time) (api.Authorized, error)
	Release(ctx context.Context, team, device, hold string, now time.Time) error
	Ingest(ctx context.Context, team, device string, events []api.Event, now time.Time) ([]api.Result, error)

	Usage(ctx context.Context, team string, from, to time.Time) ([]api.UsageRow, error)
	Tokens(ctx context.Context, team string, from, to, now time.Time) (api.TokenReport, error)
	TokenDaily(ctx context.Context, team string, from, to time.Time, p store.Page, fn func(api.TokenDay) error) (string, error)
	TokenHistory(ctx context.Context, team string, from, to time.Time, p store.Page, fn func(api.Movement) error) (string, error)
	TokenRefused(ctx context.Context, team string, from, to time.Time, fn func(api.Refusal) error) error
	TokenPacks(ctx context.Context, team string, now time.Time) (all, expiring []api.Pack, err error)
	Notifications(ctx context.Context, team string) ([]api.Notification, error)

	Budgets(ctx context.Context, team string, now time.Time) ([]charge.Budget, error)
	SetBudget(ctx context.Context, team string, b api.SetBudget, now time.Time) (charge.Budget, error)
	RemoveBudget(ctx context.Context, team, user, product string, period charge.Period, now time.Time) error
	ExtendBudget(ctx context.Context, team string, x api.ExtendBudget, now time.Time) ([]charge.Budget, error)
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error)
	Delivered(ctx context.Context, id int64, now time.Time, failure string, next time.Time, giveUp bool) error
	Sweep(ctx context.Context, now time.Time) error

	DeadLetter(ctx context.Context, team, device string, refused []store.Refusal, now time.Time) error
	ResolveDeadLetter(ctx context.Context, device, id, status string, now time.Time) error
	DeadLetters(ctx context.Context, team string, all bool) ([]api.DeadLetter, error)
	DeadEvents(ctx context.Context, team, id string) ([]store.DeadEvent, error)
	OpenDeadLetters(ctx context.Context) (int64, error)
	// For the admin console and the advisor.
	Prices(ctx context.Context, team string) (api.Prices, error)
	SetPrices(ctx context.Context, team string, s api.SetPrices) (api.Prices, error)
	Tags(ctx context.Context, team string) (map[string][]string, error)
	Idle(ctx context.Context, team string, from, to time.Time) ([]api.IdleDay, error)
	SetTags(ctx context.Context, team, user string, tags []string) ([]string, error)
	UseSummaries(ctx context.Context, team string, from, to time.Time) ([]api.UseSummary, error)
	DailyTokens(ctx context.Context, team string, from, to time.Time) ([]api.TokenDay, error)
	BalanceHistory(ctx context.Context, team string, from, to, now time.Time) (api.BalanceHistory, error)
	RefusedCharges(ctx context.Context, team string, from, to time.Time) ([]api.Refusal, error)
	UsageTotals(ctx context.Context, team string, from, to time.Time, f api.UsageFilter) (api.UsageTotals, error)
}

// Options configures a Server. Zero values are the real thing.
type Options struct {
	Store  Store       // required
	Clock  clock.Clock // the time and the background loops' tickers; nil: the real clock
	Logger *zap.Logger // nil: no logs

	// MaxInFlight bounds the requests served at once; more are answered 503 with
	// Retry-After. 0: 256.
	MaxInFlight int
	// MaxIngests bounds the event batches applied at once, and IngestQueue how many more
	// wait their turn; past both a device is answered 429 with Retry-After. Launch
	// decisions wait behind at most MaxIngests chunks of events. 0: DefaultMaxIngests and
	// DefaultIngestQueue; IngestQueue < 0: none wait.
	MaxIngests, IngestQueue int
	// Webhooks delivers notifications. nil: a client with a 10 s timeout that refuses
	// loopback and link-local addresses unless WebhookAllowInternal.
	Webhooks *http.Client
	// WebhookAllowInternal lets team admins point webhooks at this machine or its
	// link-local network (tests, a receiver on the ledger's host).
	WebhookAllowInternal bool
	// MetricsToken is the bearer token that /metrics/teams (each team's balance) asks
	// for; empty: team metrics are not served. /metrics (the process) is open.
	MetricsToken string
	// Registerer receives the metrics; nil: a registry of the server's own, served at
	// /metrics.
	Registry *prometheus.Registry
	// NotifyEvery and SweepEvery pace Run's loops. 0: 10 s and 1 h.
	NotifyEvery, SweepEvery time.Duration
}

// Server is the ledger's HTTP service.
type Server struct {
	store    Store
	clock    clock.Clock
	log      *zap.Logger
	inFlight chan struct{}
	pace     *pacer
	webhooks *http.Client
	registry *prometheus.Registry
	teams    *teamGauges

	allowInternal bool
	metricsToken  string
	metrics       *metrics
	notify        time.Duration
	sweep         time.Duration
	console       *console.Console

	mu      sync.Mutex
	seen    map[string]time.Time  // device -> last time its last_seen was written
	devices map[string]api.Device // credential hash -> its device, see deviceOf
}

// New returns a server over o.Store.
func New(o Options) *Server {
	s := &Server{
		store: o.Store, clock: o.Clock, log: o.Logger, webhooks: o.Webhooks, registry: o.Registry,
		notify: o.NotifyEvery, sweep: o.SweepEvery, seen: map[string]time.Time{}, devices: map[string]api.Device{},
		allowInternal: o.WebhookAllowInternal, metricsToken: o.MetricsToken,
	}
	s.clock = clock.Or(s.clock)
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.Named("ledger")
	n := o.MaxInFlight
	if n <= 0 {
		n = 256
	}
	s.inFlight = make(chan struct{}, n)
	s.pace = newPacer(o.MaxIngests, o.IngestQueue)
	if s.webhooks == nil {
		s.webhooks = webhookClient(s.allowInternal)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.notify <= 0 {
		s.notify = 10 * time.Second
	}
	if s.sweep <= 0 {
		s.sweep = time.Hour
	}
	s.metrics = newMetrics(s.registry)
	s.teams = newTeamGauges()
	if w, ok := s.store.(interface {
		WatchBalances(func(string, api.Balance))
	}); ok {
		w.WatchBalances(s.teams.set)
	}
	s.console = console.New(console.Options{Store: s.store, Clock: s.clock, Logger: s.log})
	return s
}

func (s *Server) now() time.Time { return s.clock.Now().UTC() }

// Run does the ledger's background work until ctx ends: delivering notifications and
// sweeping for expired packs and tokens about to expire.
func (s *Server) Run(ctx context.Context) error {
	s.countDeadLetters(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.loop(ctx, s.notify, s.Deliver) })
	wg.Go(func() { s.loop(ctx, s.sweep, s.Sweep) })
	wg.Wait()
	return nil
}

func (s *Server) loop(ctx context.Context, every time.Duration, fn func(context.Context) error) {
	t := s.clock.NewTicker(every)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("background work", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// Sweep forfeits expired packs, releases stale holds and raises the notices that time
// alone causes, at the clock's now.
func (s *Server) Sweep(ctx context.Context) error { return s.store.Sweep(ctx, s.now()) }
