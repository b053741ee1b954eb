// Package console is the ledger's admin console: server-rendered pages under /admin/
// that show a team's balance, usage, forecast and the advisor's advice, and change its
// users, restrictions, subscriptions and prices. Everything it serves is embedded, so it
// works offline behind a firewall; charts are SVG drawn on the server, each with a table
// beside it, and no page needs JavaScript.
//
// Security: an admin token signs in once and gets a random session id in a cookie that
// is HttpOnly, SameSite=Strict and Secure over TLS; every change is a POST that carries
// the session's CSRF token and passes net/http's cross-origin check; the
// Content-Security-Policy allows no script at all and styles only from the console.
package console

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"tollgate/charge"
	"tollgate/clock"
	"tollgate/ledger/advisor"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Store is what the console reads and changes; the ledger's store is the implementation.
type Store interface {
	advisor.Source
	AdminByToken(ctx context.Context, token string) (store.AdminToken, error)
	Teams(ctx context.Context, scope string, now time.Time) ([]api.Team, error)
	SetRestrictions(ctx context.Context, team string, r api.Restrictions, now time.Time) (api.Team, error)
	PutUser(ctx context.Context, team, user string, u api.PutUser) (api.User, error)
	AddSubscription(ctx context.Context, team, user string, s charge.Subscription) (api.User, error)
	Devices(ctx context.Context, team string) ([]api.Device, error)
	Notifications(ctx context.Context, team string) ([]api.Notification, error)
	SetPrices(ctx context.Context, team string, s api.SetPrices) (api.Prices, error)
	Tags(ctx context.Context, team string) (map[string][]string, error)
	Usage(ctx context.Context, team string, from, to time.Time) ([]api.UsageRow, error)
	UsageTotals(ctx context.Context, team string, from, to time.Time, f api.UsageFilter) (api.UsageTotals, error)
	BalanceHistory(ctx context.Context, team string, from, to, now time.Time) (api.BalanceHistory, error)
	RefusedCharges(ctx context.Context, team string, from, to time.Time) ([]api.Refusal, error)
	Idle(ctx context.Context, team string, from, to time.Time) ([]api.IdleDay, error)
	SetTags(ctx context.Context, team, user string, tags []string) ([]string, error)
}

// Options configures a Console. Zero values are the real thing.
type Options struct {
	Store  Store       // required
	Clock  clock.Clock // nil: the real clock
	Logger *zap.Logger // nil: no logs
	// SessionTTL is how long a sign-in lasts. 0: 8 hours.
	SessionTTL time.Duration
}

// Console serves the admin pages.
type Console struct {
	store Store
	clock clock.Clock
	log   *zap.Logger
	ttl   time.Duration
	pages map[string]*template.Template
	csrf  *http.CrossOriginProtection

	mu       sync.Mutex
	sessions map[string]*session
}

// Prefix is where the ledger mounts the console.
const Prefix = "/admin/"

// New returns a console over o.Store.
func New(o Options) *Console {
	c := &Console{store: o.Store, clock: o.Clock, log: o.Logger, ttl: o.SessionTTL, sessions: map[string]*session{},
		csrf: http.NewCrossOriginProtection()}
	c.clock = clock.Or(c.clock)
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.log = c.log.Named("console")
	if c.ttl <= 0 {
		c.ttl = 8 * time.Hour
	}
	c.pages = parsePages()
	c.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.problem(w, r, nil, http.StatusForbidden, "This change came from another site and was refused. Make changes from the console's own pages.")
	}))
	return c
}

func (c *Console) now() time.Time { return c.clock.Now().UTC() }

// Handler serves the console; mount it at Prefix.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /admin/static/", http.StripPrefix("/admin/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /admin/{$}", c.home)
	mux.HandleFunc("POST /admin/signin", c.signIn)
	mux.HandleFunc("POST /admin/signout", c.signed(c.signOut))
	for name, h := range map[string]func(http.ResponseWriter, *http.Request, *session, string){
		"balance": c.balance, "usage": c.usage, "usage.csv": c.usageCSV, "forecast": c.forecast,
		"advisor": c.advisor, "users": c.users, "devices": c.devices, "notices": c.notices,
	} {
		mux.HandleFunc("GET /admin/t/{team}/"+name, c.signed(c.team(h)))
	}
	for name, h := range map[string]func(http.ResponseWriter, *http.Request, *session, string){
		"restrictions": c.setRestrictions, "user": c.putUser, "subscription": c.addSubscription,
		"tags": c.setTags, "prices": c.setPrices,
	} {
		mux.HandleFunc("POST /admin/t/{team}/"+name, c.signed(c.team(h)))
	}
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		c.problem(w, r, c.session(r), http.StatusNotFound, "There is no such page in the console.")
	})
	return c.secure(c.csrf.Handler(mux))
}

// secure sets the headers every answer carries.
func (c *Console) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// team checks that the session may see the {team} of the path; a team admin gets the
// same answer for another team as for one that does not exist.
func (c *Console) team(h func(http.ResponseWriter, *http.Request, *session, string)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		team := r.PathValue("team")
		if !s.admin.May(team) {
			c.problem(w, r, s, http.StatusNotFound, "There is no team "+team+" that this sign-in may see.")
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil || !s.checkCSRF(r.PostForm.Get("csrf")) {
				c.problem(w, r, s, http.StatusForbidden, "This form has expired or did not come from this console; nothing was changed. Reload the page and try again.")
				return
			}
		}
		h(w, r, s, team)
	}
}
