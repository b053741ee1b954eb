package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"

	"tollgate/platform"
)

// Backend is the daemon as the local API sees it; package agent's *Agent is the one. The
// server has checked the caller's permissions before it calls: a user it names is one the
// caller may ask about.
type Backend interface {
	// UserOf maps an OS account (and, on Windows, its domain) to its licensing user; ok
	// is false when the account maps to none.
	UserOf(account, domain string) (user string, ok bool)
	// Status is what the caller may see of the agent: their own sessions and messages, or
	// everyone's for an administrator.
	Status(c Caller) Status
	// Check says what a launch of product by user would get now, and changes nothing. A
	// product the catalogue does not name is an *Error with CodeUnknownProduct.
	Check(ctx context.Context, user, product string) (CheckResult, error)
	// Messages lists what user has been told, oldest first.
	Messages(user string) []Message
	// Subscribe delivers the messages told to user until cancel is called, or until the
	// backend closes ch when the caller may now be another user.
	Subscribe(user string) (ch <-chan Message, cancel func())
	// Reload re-reads the configuration; a refused one leaves the one in force.
	Reload() (ReloadResult, error)
	// ReportIdle takes user's report that their desktop session has had no input for
	// idle (rule 4, renewal_when_idle). A refusal is an *Error: CodeTooManyReports when
	// the user reports too often, CodeNotRecorded when it could not be journaled.
	ReportIdle(user string, idle time.Duration) error
}

// Caller is who is asking, as the OS said when the connection was accepted, and so what
// they may do. A server establishes the OS's answer once per connection, and the licensing
// user it maps to by the configuration in force for each request; handlers never derive
// either again.
type Caller struct {
	Peer platform.Peer
	User string // the caller's licensing user; "" when their account maps to none
}

// PermitWrite reports whether the caller may change the agent (reload its configuration)
// and read any user's launches: administrators only.
func (c Caller) PermitWrite() bool { return c.Peer.Admin }

// PermitRead reports whether the caller may read user's launches: their own, or anyone's
// for an administrator.
func (c Caller) PermitRead(user string) bool {
	return c.PermitWrite() || user != "" && user == c.User
}

// ServerOptions configures Listen.
type ServerOptions struct {
	Socket  string // a unix socket path or a named pipe name
	Backend Backend
	Logger  *zap.Logger
}

// Server serves the local API on a socket or pipe.
type Server struct {
	b   Backend
	log *zap.Logger
	srv *http.Server
	ln  net.Listener
	lim *limiter
	// stop ends every request's context, so that the event streams (which otherwise run
	// while their reader does) end when the server closes.
	stop context.CancelFunc
}

// Listen opens the socket (making its folder) and prepares the routes; Serve serves them.
func Listen(o ServerOptions) (*Server, error) {
	log := o.Logger.Named("localapi")
	if runtime.GOOS != "windows" { // a pipe name is no path
		// Outside a service manager nothing else makes the socket's folder.
		if err := os.MkdirAll(filepath.Dir(o.Socket), 0o755); err != nil {
			return nil, err
		}
	}
	ln, err := platform.Listen(o.Socket)
	if err != nil {
		return nil, err
	}
	nofile, err := platform.RaiseNoFile()
	if err != nil {
		log.Warn("could not raise the open-file limit", zap.Uint64("limit", nofile), zap.Error(err))
	}
	lim := limitsFor(nofile)
	log.Info("local API limits", zap.Uint64("open_file_limit", nofile), zap.Int("connections", lim.Conns),
		zap.Int("connections_per_caller", lim.ConnsPerCaller), zap.Int("streams", lim.Streams), zap.Int("streams_per_caller", lim.StreamsPerCaller))
	base, stop := context.WithCancel(context.Background())
	s := &Server{b: o.Backend, log: log, lim: newLimiter(lim, log), stop: stop}
	s.ln = &limitListener{Listener: ln, lim: s.lim, log: log}
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.Handle(r.pattern, s.guard(r.write, r.h))
	}
	// A caller that sends its headers slowly, or keeps a connection idle, gives it back;
	// nothing here takes a body.
	s.srv = &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return base }, ConnContext: connContext, ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10, ErrorLog: zap.NewStdLog(log)}
	return s, nil
}

// handler answers one route for a caller whose permission for the route is checked.
type handler func(w http.ResponseWriter, r *http.Request, c Caller, q request)

// route is one entry of the route table; write routes are for administrators only.
type route struct {
	pattern string
	write   bool
	h       handler
}

func (s *Server) routes() []route {
	return []route{
		{"GET /v0/status", false, s.status},
		{"GET /v0/check", false, s.check},
		{"GET /v0/messages", false, s.messages},
		{"GET /v0/events", false, s.events},
		{"POST /v0/reload", true, s.reload},
		{"POST /v0/idle", false, s.idle},
	}
}

// Serve serves until Close.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving: event streams end at once, other requests under way are given a
// moment to finish, and then their connections are closed.
func (s *Server) Close() {
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}

// conn is what a connection's requests share: the caller the OS named when it was
// accepted, checked once per connection.
type conn struct {
	peer  platform.Peer
	known bool // the OS named the caller
}

type connKey struct{}

func connContext(ctx context.Context, c net.Conn) context.Context {
	ctx = platform.ConnContext(ctx, c)
	p, ok := platform.PeerFrom(ctx)
	return context.WithValue(ctx, connKey{}, &conn{peer: p, known: ok})
}

// caller is the connection's Caller; false when the OS could not say who it is. Who the
// OS says is asking is the connection's; which licensing user that is follows the
// configuration in force, so it is looked up for each request (in the handler, not the
// accept loop, which must not wait for a busy daemon): a push that changes the identity
// mapping holds for the next request on a connection kept open.
func (s *Server) caller(r *http.Request) (Caller, bool) {
	cc, _ := r.Context().Value(connKey{}).(*conn)
	if cc == nil || !cc.known {
		return Caller{}, false
	}
	return Caller{Peer: cc.peer, User: s.userOf(cc.peer)}, true
}

// userOf is the licensing user of an OS account as the configuration in force maps it;
// "" when it maps to none.
func (s *Server) userOf(p platform.Peer) string {
	account, domain := p.User, ""
	if d, u, ok := strings.Cut(p.User, `\`); ok {
		domain, account = d, u
	}
	if u, ok := s.b.UserOf(account, domain); ok {
		return u
	}
	return ""
}

// guard decodes the request and checks the caller before a handler runs.
func (s *Server) guard(write bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, bad := decodeRequest(r)
		if bad != nil {
			writeErr(w, bad)
			return
		}
		c, ok := s.caller(r)
		if !ok {
			writeErr(w, &Error{Status: http.StatusForbidden, Code: CodeUnknownCaller, Message: "the operating system could not say who is asking"})
			return
		}
		if write && !c.PermitWrite() {
			writeErr(w, &Error{Status: http.StatusForbidden, Code: CodeAdminOnly, Message: "only an administrator may do this; run it with sudo or as Administrator"})
			return
		}
		h(w, r, c, q)
	})
}

// forUser is the licensing user a request is about: the caller's own, or, for an
// administrator, any user named in ?user=.
func forUser(c Caller, q request) (string, *Error) {
	u := q.user
	if u == "" || u == c.User {
		if c.User == "" {
			return "", &Error{Status: http.StatusForbidden, Code: CodeUnknownCaller, Message: "your account does not map to a licensing user"}
		}
		return c.User, nil
	}
	if !c.PermitRead(u) {
		return "", &Error{Status: http.StatusForbidden, Code: CodeOtherUser, Message: "you may ask only about your own launches"}
	}
	return u, nil
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request, c Caller, _ request) {
	writeJSON(w, s.b.Status(c))
}

func (s *Server) check(w http.ResponseWriter, r *http.Request, c Caller, q request) {
	user, bad := forUser(c, q)
	if bad != nil {
		writeErr(w, bad)
		return
	}
	res, err := s.b.Check(r.Context(), user, q.product)
	if err != nil {
		writeErr(w, asError(err))
		return
	}
	writeJSON(w, res)
}

func (s *Server) messages(w http.ResponseWriter, _ *http.Request, c Caller, q request) {
	user, bad := forUser(c, q)
	if bad != nil {
		writeErr(w, bad)
		return
	}
	writeJSON(w, s.b.Messages(user))
}

// events streams the caller's messages as JSON lines, for the notifier.
func (s *Server) events(w http.ResponseWriter, r *http.Request, c Caller, q request) {
	user, bad := forUser(c, q)
	if bad != nil {
		writeErr(w, bad)
		return
	}
	release, why := s.lim.admitStream(c.Peer)
	if why != "" {
		w.Header().Set("Retry-After", "60")
		writeErr(w, &Error{Status: http.StatusServiceUnavailable, Code: CodeTooManyStreams, Message: why})
		return
	}
	defer release()
	ch, cancel := s.b.Subscribe(user)
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
		case m, ok := <-ch:
			if !ok {
				// The backend ended the subscription (a push changed how accounts map to
				// licensing users): the notifier reconnects and is subscribed as whoever
				// the caller is now.
				return
			}
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

func (s *Server) reload(w http.ResponseWriter, _ *http.Request, _ Caller, _ request) {
	res, err := s.b.Reload()
	if err != nil {
		writeErr(w, &Error{Status: http.StatusUnprocessableEntity, Code: CodeConfigRefused, Message: err.Error() + "; the configuration in force is unchanged"})
		return
	}
	writeJSON(w, res)
}

// maxIdleReport bounds an idleness report: more than this is a caller's mistake, not a
// holiday.
const maxIdleReport = 400 * 24 * time.Hour

// idle takes a notifier's report of its session's input idleness. A user reports only for
// their own sessions, and an administrator no more than anyone else for another's: the
// report is about the desktop the caller sits at.
func (s *Server) idle(w http.ResponseWriter, _ *http.Request, c Caller, q request) {
	if c.User == "" {
		writeErr(w, &Error{Status: http.StatusForbidden, Code: CodeUnknownCaller, Message: "your account does not map to a licensing user"})
		return
	}
	if q.user != "" && q.user != c.User {
		writeErr(w, &Error{Status: http.StatusForbidden, Code: CodeOtherUser, Message: "you may report only your own session's idleness"})
		return
	}
	d, err := time.ParseDuration(q.idle)
	if err != nil || d < 0 || d > maxIdleReport {
		writeErr(w, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "idle must be how long your session has had no input, like 90s or 3h0m0s"})
		return
	}
	if err := s.b.ReportIdle(c.User, d); err != nil {
		e := asError(err)
		if e.Code == CodeTooManyReports {
			w.Header().Set("Retry-After", "2")
		}
		writeErr(w, e)
		return
	}
	writeJSON(w, map[string]any{"recorded": true})
}

// asError is err as the API answers it: the backend's own refusal, or a 500.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error()}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(e)
}
