package ledger

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	ingest    *prometheus.CounterVec
	decisions *prometheus.CounterVec
	notices   *prometheus.CounterVec
	overload  prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
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
	reg.MustRegister(m.requests, m.latency, m.ingest, m.decisions, m.notices, m.overload, balances{s})
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

// balances reports every team's balance from the database at scrape time, so that
// several servers over one database agree.
type balances struct{ s *Server }

var (
	availableDesc = prometheus.NewDesc("tollgate_ledger_available_tokens", "A team's available tokens: unexpired less holds and debt.", []string{"team"}, nil)
	heldDesc      = prometheus.NewDesc("tollgate_ledger_held_tokens", "Tokens held for sessions in grace.", []string{"team"}, nil)
	debtDesc      = prometheus.NewDesc("tollgate_ledger_debt_tokens", "Tokens overdrawn by renewals.", []string{"team"}, nil)
)

func (b balances) Describe(ch chan<- *prometheus.Desc) {
	ch <- availableDesc
	ch <- heldDesc
	ch <- debtDesc
}

func (b balances) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	teams, err := b.s.store.Teams(ctx, "", b.s.now())
	if err != nil {
		b.s.log.Warn("balance metrics", zap.Error(err))
		return
	}
	for _, t := range teams {
		ch <- prometheus.MustNewConstMetric(availableDesc, prometheus.GaugeValue, float64(t.Balance.Available), t.ID)
		ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(t.Balance.Held), t.ID)
		ch <- prometheus.MustNewConstMetric(debtDesc, prometheus.GaugeValue, float64(t.Balance.Debt), t.ID)
	}
}
