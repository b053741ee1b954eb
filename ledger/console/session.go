package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tollgate/ledger/store"
)

const cookieName = "tollgate_console"

// session is a signed-in admin. Sessions live in the ledger's memory: a restart signs
// everyone out, which is what an admin expects of a server that was restarted.
type session struct {
	id      string
	csrf    string
	admin   store.AdminToken
	expires time.Time
	flash   string // a message for the next page, then cleared
	bad     bool   // the flash is an error
}

func (s *session) checkCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

func secret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session returns the request's live session, or nil.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	if s == nil {
		return nil
	}
	if !c.now().Before(s.expires) {
		delete(c.sessions, s.id)
		return nil
	}
	return s
}

// signed passes only requests with a live session; others get the sign-in page.
func (c *Console) signed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusUnauthorized)
			c.render(w, r, "signin", nil, view{Title: "Sign in", Message: "Sign in to see this page."})
			return
		}
		h(w, r, s)
	}
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.problem(w, r, nil, http.StatusBadRequest, "The sign-in form could not be read; try again.")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	a, err := c.store.AdminByToken(r.Context(), tok)
	if tok == "" || err != nil {
		if err != nil && store.Code(err) == "internal" {
			c.log.Warn("sign-in", zapErr(err))
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, r, "signin", nil, view{Title: "Sign in", Message: "That admin token is not known to this ledger. Paste the token from 'tollgate ledger admin-token create', or the super-admin token from the ledger's data folder (file admin-token).", Bad: true})
		return
	}
	s := &session{id: secret(), csrf: secret(), admin: a, expires: c.now().Add(c.ttl)}
	c.mu.Lock()
	for id, old := range c.sessions {
		if !c.now().Before(old.expires) {
			delete(c.sessions, id)
		}
	}
	c.sessions[s.id] = s
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.id, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		// No Expires: the ledger's clock decides when a session ends, not the browser's.
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil || !s.checkCSRF(r.PostForm.Get("csrf")) {
		c.problem(w, r, s, http.StatusForbidden, "This form has expired; reload the page and sign out again.")
		return
	}
	c.mu.Lock()
	delete(c.sessions, s.id)
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// done sets a message for the next page and sends the browser back to page.
func (c *Console) done(w http.ResponseWriter, r *http.Request, s *session, team, page string, q url.Values, msg string, bad bool) {
	c.mu.Lock()
	s.flash, s.bad = msg, bad
	c.mu.Unlock()
	to := Prefix + "t/" + url.PathEscape(team) + "/" + page
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// takeFlash returns and clears the session's message.
func (c *Console) takeFlash(s *session) (string, bool) {
	if s == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, bad := s.flash, s.bad
	s.flash, s.bad = "", false
	return m, bad
}
