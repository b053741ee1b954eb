package ledger

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tollgate/ledger/console"
)

// route is one line of the route table: a Go 1.22 pattern and its handler.
type route struct {
	pattern string
	h       http.Handler
}

func (s *Server) routes() []route {
	return []route{
		{"GET /healthz", http.HandlerFunc(s.healthz)},
		{"GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})},
		{"GET /metrics/teams", http.HandlerFunc(s.teamMetrics)},

		// The agent API: one device, its team only.
		{"POST /v1/enroll", http.HandlerFunc(s.enroll)},
		{"GET /v1/entitlement/{user}", s.device(s.entitlement)},
		{"POST /v1/authorize", s.device(s.authorize)},
		{"POST /v1/release", s.device(s.release)},
		{"POST /v1/events", s.device(s.ingest)},

		// The admin API: a token for one team, or the super-admin's for all.
		{"POST /v1/admin/teams", s.admin(true, s.createTeam)},
		{"GET /v1/admin/teams", s.admin(false, s.listTeams)},
		{"GET /v1/admin/teams/{team}", s.admin(false, s.getTeam)},
		{"PUT /v1/admin/teams/{team}/restrictions", s.admin(false, s.setRestrictions)},
		{"PUT /v1/admin/teams/{team}/settings", s.admin(false, s.setSettings)},
		{"POST /v1/admin/teams/{team}/packs", s.admin(false, s.buyPack)},
		{"GET /v1/admin/teams/{team}/packs", s.admin(false, s.listPacks)},
		{"POST /v1/admin/teams/{team}/packs/{pack}/transfer", s.admin(false, s.transferPack)},
		{"GET /v1/admin/products", s.admin(false, s.listProducts)},
		{"PUT /v1/admin/products/{product}", s.admin(true, s.putProduct)},
		{"GET /v1/admin/teams/{team}/users", s.admin(false, s.listUsers)},
		{"GET /v1/admin/teams/{team}/users/{user}", s.admin(false, s.getUser)},
		{"PUT /v1/admin/teams/{team}/users/{user}", s.admin(false, s.putUser)},
		{"POST /v1/admin/teams/{team}/users/{user}/subscriptions", s.admin(false, s.addSubscription)},
		{"GET /v1/admin/teams/{team}/prices", s.admin(false, s.getPrices)},
		{"PUT /v1/admin/teams/{team}/prices", s.admin(false, s.setPrices)},
		{"GET /v1/admin/teams/{team}/budgets", s.admin(false, s.listBudgets)},
		{"PUT /v1/admin/teams/{team}/budgets", s.admin(false, s.setBudget)},
		{"DELETE /v1/admin/teams/{team}/budgets", s.admin(false, s.removeBudget)},
		{"POST /v1/admin/teams/{team}/budgets/extension", s.admin(false, s.extendBudget)},
		{"GET /v1/admin/teams/{team}/devices", s.admin(false, s.listDevices)},
		{"POST /v1/admin/teams/{team}/enroll-tokens", s.admin(false, s.createEnrollToken)},
		{"POST /v1/admin/teams/{team}/admin-tokens", s.admin(true, s.createAdminToken)},
		{"GET /v1/admin/teams/{team}/notifications", s.admin(false, s.listNotifications)},
		{"GET /v1/admin/teams/{team}/reports/usage", s.admin(false, s.usageReport)},
		{"GET /v1/admin/teams/{team}/reports/tokens", s.admin(false, s.tokenReport)},
		{"GET /v1/admin/teams/{team}/dead-letter", s.admin(false, s.listDeadLetters)},
		{"POST /v1/admin/teams/{team}/dead-letter/retry", s.admin(false, s.retryDeadLetters)},
		{"GET /v1/admin/teams/{team}/reports/advisor", s.admin(false, s.advisorReport)},
		{"GET /v1/admin/teams/{team}/reports/forecast", s.admin(false, s.forecastReport)},
	}
}

// Handler serves the ledger's API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		h := s.metrics.instrument(r.pattern, r.h)
		if r.pattern != "GET /healthz" && r.pattern != "GET /metrics" && r.pattern != "GET /metrics/teams" {
			h = s.limit(h)
		}
		mux.Handle(r.pattern, h)
	}
	// The admin console: its own sign-in, sessions and pages.
	mux.Handle(console.Prefix, s.metrics.instrument(console.Prefix, s.limit(s.console.Handler())))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path+"; the API is under /v1/")
	}))
	// Date is the ledger's own clock, the frame charges are taken in, so a workstation's
	// `tollgate doctor` can say how far its clock is off.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		fail(w, "internal", "the database does not answer: "+err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]string{"status": "ok"})
}
