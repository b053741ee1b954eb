package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"tollgate/charge"
	"tollgate/config"
	"tollgate/platform"
)

// The local API: HTTP over a unix socket or a named pipe, for the CLI and the per-user
// notifier. Callers are identified by the OS (platform.PeerOf), never by what they say:
// any local user may ask about their own launches; only an administrator may reload the
// configuration or read another user's data. Requests that carry Origin or Referer come
// from a browser and are refused, so no web page can reach the agent.

// Status is what `tollgate status` shows.
type Status struct {
	Device       string           `json:"device"`
	Now          time.Time        `json:"now"`
	Caller       string           `json:"caller"` // the licensing user asking
	Admin        bool             `json:"admin"`
	Sessions     []charge.Session `json:"sessions"`
	Available    *int64           `json:"available,omitempty"` // the caller's team's balance, as the agent knows it
	Budgets      []charge.Budget  `json:"budgets,omitempty"`   // the caller's caps (rule 13), as the agent knows them
	AsOf         time.Time        `json:"entitlement_as_of"`
	Backlog      int              `json:"sync_backlog"` // journaled effects not yet answered by the ledger
	Config       config.Health    `json:"config"`
	Source       string           `json:"process_source"`
	Gate         string           `json:"pre_exec_gate"`
	Rollbacks    int              `json:"clock_rollbacks"`
	Ledger       *LedgerStatus    `json:"ledger,omitempty"`
	Messages     []Message        `json:"messages"`
	AdminContact string           `json:"admin_contact,omitempty"`
	Journal      JournalHealth    `json:"journal"`
}

// CheckResult answers `tollgate check`.
type CheckResult struct {
	charge.Decision
	Name    string `json:"name"`
	Message string `json:"message"`
	Contact string `json:"contact,omitempty"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type server struct {
	a   *Agent
	srv *http.Server
	ln  net.Listener
	lim *limiter
}

func (a *Agent) listen() (*server, error) {
	if goos() != "windows" { // a pipe name is no path
		// Outside a service manager nothing else makes the socket's folder.
		if err := os.MkdirAll(filepath.Dir(a.opts.Socket), 0o755); err != nil {
			return nil, err
		}
	}
	ln, err := platform.Listen(a.opts.Socket)
	if err != nil {
		return nil, err
	}
	nofile, err := platform.RaiseNoFile()
	if err != nil {
		a.log.Warn("could not raise the open-file limit", zap.Uint64("limit", nofile), zap.Error(err))
	}
	lim := limitsFor(nofile)
	a.log.Info("local API limits", zap.Uint64("open_file_limit", nofile), zap.Int("connections", lim.Conns),
		zap.Int("connections_per_caller", lim.ConnsPerCaller), zap.Int("streams", lim.Streams), zap.Int("streams_per_caller", lim.StreamsPerCaller))
	s := &server{a: a, lim: newLimiter(lim, a.log.Named("localapi"))}
	s.ln = &limitListener{Listener: ln, lim: s.lim, log: a.log.Named("localapi")}
	mux := http.NewServeMux()
	for _, r := range []struct {
		pattern string
		admin   bool
		h       func(http.ResponseWriter, *http.Request, caller)
	}{
		{"GET /v0/status", false, s.status},
		{"GET /v0/check", false, s.check},
		{"GET /v0/messages", false, s.messages},
		{"GET /v0/events", false, s.events},
		{"POST /v0/reload", true, s.reload},
	} {
		mux.Handle(r.pattern, s.guard(r.admin, r.h))
	}
	// A caller that sends its headers slowly, or keeps a connection idle, gives it back;
	// nothing here takes a body.
	s.srv = &http.Server{Handler: mux, ConnContext: platform.ConnContext, ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10, ErrorLog: zap.NewStdLog(a.log.Named("localapi"))}
	return s, nil
}

func (s *server) serve(ctx context.Context) error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// caller is who is asking, as the OS says.
type caller struct {
	peer  platform.Peer
	user  string // licensing user
	admin bool
	req   request
}

func (s *server) guard(admin bool, h func(http.ResponseWriter, *http.Request, caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, bad := decodeRequest(r)
		if bad != nil {
			status := http.StatusBadRequest
			if bad.Code == "browser_refused" {
				status = http.StatusForbidden
			}
			writeErr(w, status, bad.Code, bad.Message)
			return
		}
		peer, ok := platform.PeerFrom(r.Context())
		if !ok {
			writeErr(w, http.StatusForbidden, "unknown_caller", "the operating system could not say who is asking")
			return
		}
		c := caller{peer: peer, admin: peer.Admin, req: req}
		account, domain := peer.User, ""
		if d, u, ok := strings.Cut(peer.User, `\`); ok {
			domain, account = d, u
		}
		if u, err := s.a.config().User(account, domain); err == nil {
			c.user = u
		}
		if admin && !c.admin {
			writeErr(w, http.StatusForbidden, "admin_only", "only an administrator may do this; run it with sudo or as Administrator")
			return
		}
		h(w, r, c)
	})
}

// forUser is the licensing user a request is about: the caller's own, or, for an
// administrator, any user named in ?user=.
func forUser(w http.ResponseWriter, r *http.Request, c caller) (string, bool) {
	u := c.req.user
	if u == "" || u == c.user {
		if c.user == "" {
			writeErr(w, http.StatusForbidden, "unknown_caller", "your account does not map to a licensing user")
			return "", false
		}
		return c.user, true
	}
	if !c.admin {
		writeErr(w, http.StatusForbidden, "other_user", "you may ask only about your own launches")
		return "", false
	}
	return u, true
}

func (s *server) status(w http.ResponseWriter, r *http.Request, c caller) {
	a := s.a
	a.mu.Lock()
	st := Status{Device: a.device, Now: a.meter.Now(), Caller: c.user, Admin: c.admin, Rollbacks: a.rollbacks,
		AsOf: a.ents.asOf(c.user), AdminContact: a.cfg.AdminContact, Gate: a.gateState(), Journal: a.journalHealth()}
	for _, ss := range a.meter.Sessions() {
		if c.admin || ss.User == c.user {
			st.Sessions = append(st.Sessions, ss)
		}
	}
	for _, m := range a.messages {
		if c.admin || m.User == c.user {
			st.Messages = append(st.Messages, m)
		}
	}
	a.mu.Unlock()
	if c.user != "" {
		e := a.ents.Entitlement(c.user)
		if e.Team != "" {
			st.Available, st.Budgets = &e.Available, e.Budgets
		}
	}
	st.Source = a.src.Mode()
	if a.link != nil {
		ls := a.link.state()
		st.Ledger = &ls
	}
	st.Config = a.watcher.Health()
	if unsent, err := a.journal.Unsent(a.synced.Load().(string), 0); err == nil {
		st.Backlog = len(unsent)
	}
	writeJSON(w, st)
}

func (s *server) check(w http.ResponseWriter, r *http.Request, c caller) {
	user, ok := forUser(w, r, c)
	if !ok {
		return
	}
	product := c.req.product
	cfg := s.a.config()
	p, known := cfg.Product(product)
	if !known {
		writeErr(w, http.StatusNotFound, "unknown_product", "no product "+quote(product)+" in this workstation's catalogue")
		return
	}
	d := s.a.wouldLaunch(user, product)
	res := CheckResult{Decision: d, Name: nameOf(p), Contact: cfg.AdminContact}
	if d.Allowed {
		res.Message = allowedText(d, res.Name)
	} else {
		res.Message = charge.Denial(&d, res.Name)
	}
	writeJSON(w, res)
}

func (s *server) messages(w http.ResponseWriter, r *http.Request, c caller) {
	user, ok := forUser(w, r, c)
	if !ok {
		return
	}
	s.a.mu.Lock()
	var out []Message
	for _, m := range s.a.messages {
		if m.User == user {
			out = append(out, m)
		}
	}
	s.a.mu.Unlock()
	writeJSON(w, out)
}

// events streams the caller's messages as JSON lines, for the notifier.
func (s *server) events(w http.ResponseWriter, r *http.Request, c caller) {
	user, ok := forUser(w, r, c)
	if !ok {
		return
	}
	release, why := s.lim.admitStream(c.peer)
	if why != "" {
		w.Header().Set("Retry-After", "60")
		writeErr(w, http.StatusServiceUnavailable, "too_many_streams", why)
		return
	}
	defer release()
	ch, cancel := s.a.Subscribe(user)
	defer cancel()
	rc := http.NewResponseController(w)
	// Every write must be taken within streamWriteTimeout: a caller that stops reading
	// loses its stream rather than hold the agent's buffers. The heartbeat finds callers
	// that went away without closing.
	send := func(line []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(line); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if !send(nil) {
		return
	}
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			if !send([]byte("\n")) {
				return
			}
		case m := <-ch:
			line, err := json.Marshal(m)
			if err != nil || !send(append(line, '\n')) {
				return
			}
		}
	}
}

const (
	streamHeartbeat    = 25 * time.Second // a blank line, which clients skip
	streamWriteTimeout = 10 * time.Second
)

func (s *server) reload(w http.ResponseWriter, r *http.Request, c caller) {
	if err := s.a.Reload(); err != nil {
		writeErr(w, http.StatusUnprocessableEntity, "config_refused", err.Error()+"; the configuration in force is unchanged")
		return
	}
	writeJSON(w, map[string]any{"reloaded": true, "files": s.a.config().Files()})
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(apiError{Code: code, Message: msg})
}

func quote(s string) string { return `"` + s + `"` }

func nameOf(p config.Product) string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

func allowedText(d charge.Decision, name string) string {
	switch d.Reason {
	case charge.Subscribed:
		return name + " is covered by your subscription: no tokens."
	case charge.PaidWindow:
		return name + " is paid for until " + clock(d.Until) + ": no tokens."
	}
	return graceText(d, name)
}

func graceText(d charge.Decision, name string) string {
	return "You may start " + name + ". Closing it within 5 minutes costs nothing; after that it costs " +
		itoa(d.Rate) + " tokens for 24 hours (your team has " + charge.TeamLeft(d.Available) + ")."
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
