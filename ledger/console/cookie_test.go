package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"tollgate/clock/clocktest"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// TestSessionCookieAndHeaders: the session cookie is HttpOnly and SameSite=Strict, and
// Secure when the console is served over TLS; every page carries a CSP with no script.
func TestSessionCookieAndHeaders(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(t, "sqlite"))
	must(t, err)
	defer db.Close()
	tok := store.NewSecret("tga_")
	_, err = db.CreateTeam(ctx, api.NewTeam{ID: "studio"}, month)
	must(t, err)
	must(t, db.CreateAdminToken(ctx, "studio", "studio admin", tok, month))
	h := ledger.New(ledger.Options{Store: db, Clock: clocktest.New(month)}).Handler()
	for _, tc := range []struct {
		name   string
		server *httptest.Server
		secure bool
	}{
		{"http", httptest.NewServer(h), false},
		{"https", httptest.NewTLSServer(h), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.server.Close()
			hc := tc.server.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := hc.PostForm(tc.server.URL+"/admin/signin", url.Values{"token": {tok}})
			must(t, err)
			resp.Body.Close()
			cs := resp.Cookies()
			if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 {
				t.Fatalf("sign-in: status %d, cookies %v; want 303 and one cookie", resp.StatusCode, cs)
			}
			c := cs[0]
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tc.secure || c.Path != "/admin/" {
				t.Errorf("cookie: HttpOnly %v, SameSite %v, Secure %v, Path %q; want true, Strict, %v, /admin/", c.HttpOnly, c.SameSite, c.Secure, c.Path, tc.secure)
			}
			req, _ := http.NewRequest("GET", tc.server.URL+"/admin/t/studio/balance", nil)
			req.AddCookie(c)
			resp, err = hc.Do(req)
			must(t, err)
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			if resp.StatusCode != 200 || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
				t.Errorf("balance page: status %d, CSP %q; want 200 and a CSP that allows no script", resp.StatusCode, csp)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
}
