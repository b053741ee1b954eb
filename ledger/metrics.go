package ledger

import (
	"bytes"
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"

	"tollgate/ledger/api"
)

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	ingest    *prometheus.CounterVec
	decisions *prometheus.CounterVec
	notices   *prometheus.CounterVec
	overload  prometheus.Counter
	// refused counts events refused into the dead-letter; deadLetters is how many are
	// still open, across teams.
	refused     *prometheus.CounterVec
	deadLetters prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_ledger_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_ledger_request_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		ingest: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_ledger_ingest_events_total", Help: "Usage events ingested, by answer.",
		}, []string{"status"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_ledger_decisions_total", Help: "Launch authorizations, by reason.",
		}, []string{"reason"}),
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_ledger_notifications_total", Help: "Webhook deliveries, by result.",
		}, []string{"result"}),
		overload: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_ledger_overloaded_total", Help: "Requests refused with 503 because too many were in flight.",
		}),
	}
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_ledger_refused_events_total", Help: "Events the ledger refused and kept in the dead-letter, by code.",
	}, []string{"code"})
	m.deadLetters = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tollgate_ledger_dead_letters", Help: "Refused events not yet re-sent successfully ('tollgate ledger report refused').",
	})
	reg.MustRegister(m.requests, m.latency, m.ingest, m.decisions, m.notices, m.overload, m.refused, m.deadLetters)
	return m
}

func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// teamGauges are each team's balance, kept up to date by the store as changes commit
// (store.DB.WatchBalances) and loaded from the database once, at the first scrape: a
// scrape reads memory, however many teams there are. A change committed by another
// server on the same database shows here at this server's next change to the team, or
// its hourly sweep.
type teamGauges struct {
	registry  *prometheus.Registry
	available *prometheus.GaugeVec
	held      *prometheus.GaugeVec
	debt      *prometheus.GaugeVec

	mu     sync.Mutex
	loaded bool
	// The exposition is rendered again only after a change (ver moved past cacheVer):
	// scrapers between changes are served the same bytes.
	ver      atomic.Uint64
	cache    []byte
	cacheVer uint64
}

func newTeamGauges() *teamGauges {
	g := &teamGauges{
		registry: prometheus.NewRegistry(),
		available: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_ledger_available_tokens", Help: "A team's available tokens: unexpired less holds and debt.",
		}, []string{"team"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_ledger_held_tokens", Help: "Tokens held for sessions in grace.",
		}, []string{"team"}),
		debt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_ledger_debt_tokens", Help: "Tokens overdrawn by renewals.",
		}, []string{"team"}),
	}
	g.registry.MustRegister(g.available, g.held, g.debt)
	return g
}

func (g *teamGauges) set(team string, b api.Balance) {
	g.available.WithLabelValues(team).Set(float64(b.Available))
	g.held.WithLabelValues(team).Set(float64(b.Held))
	g.debt.WithLabelValues(team).Set(float64(b.Debt))
	g.ver.Add(1)
}

// render returns the team metrics in Prometheus's text format.
func (g *teamGauges) render() ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ver := g.ver.Load()
	if g.cache != nil && ver == g.cacheVer {
		return g.cache, nil
	}
	mfs, err := g.registry.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return nil, err
		}
	}
	g.cache, g.cacheVer = buf.Bytes(), ver
	return g.cache, nil
}

// load reads every team's balance once.
func (g *teamGauges) load(ctx context.Context, s *Server) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.loaded {
		return nil
	}
	teams, err := s.store.Teams(ctx, "", s.now())
	if err != nil {
		return err
	}
	for _, t := range teams {
		g.set(t.ID, t.Balance)
	}
	g.loaded = true
	return nil
}

// teamMetrics serves the team gauges to a scraper with the metrics token. The process
// metrics at /metrics name no team and are open.
func (s *Server) teamMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metricsToken == "" {
		fail(w, api.CodeNotFound, "team metrics are off: start the ledger with --metrics-token-file to serve them to a scraper with that token")
		return
	}
	if subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(s.metricsToken)) != 1 {
		fail(w, api.CodeUnauthorized, "team metrics need the metrics token: send 'Authorization: Bearer <token>' (the file given to --metrics-token-file)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.teams.load(ctx, s); err != nil {
		s.log.Warn("team metrics", zap.Error(err))
		fail(w, api.CodeInternal, "the team balances could not be read; try again")
		return
	}
	body, err := s.teams.render()
	if err != nil {
		s.log.Warn("team metrics", zap.Error(err))
		fail(w, api.CodeInternal, "the team metrics could not be rendered; try again")
		return
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	w.Write(body)
}
