package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tollgate/ledger/api"
	"tollgate/ledger/store/storetest"
)

// TestConsoleInBrowser drives the console in a real headless Chromium over a real
// ledger with a month of use, on both stores: sign in, read the balance, filter the
// usage, download it as CSV, change a restriction and see the agent API refuse the
// product, and a screenshot of every page.
func TestConsoleInBrowser(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			b := newBrowser(t)
			shots := artifacts(t)
			ctx := context.Background()

			b.open(t, w.url+"/admin/")
			b.shot(t, shots, "signin")
			b.do(t, setValue("#token", "tga_not-a-token"))
			b.submit(t, "form.signin button")
			if got := b.text(t, "#message"); !strings.Contains(got, "not known") {
				t.Errorf("a wrong token: got %q, want a message that it is not known", got)
			}

			b.do(t, setValue("#token", w.studio))
			b.submit(t, "form.signin button")
			if got, want := b.location(t), w.url+"/admin/t/studio/balance"; got != want {
				t.Fatalf("after sign-in: at %s, want %s; page: %s", got, want, b.text(t, "body"))
			}
			if got, want := atoi(t, b.text(t, "#available")), w.bought-w.total; got != want {
				t.Errorf("available: got %d, want %d (bought %d, charged %d)", got, want, w.bought, w.total)
			}
			if got := atoi(t, b.text(t, "#debt")); got != 0 {
				t.Errorf("debt: got %d, want 0", got)
			}
			if n := b.eval(t, `String(document.querySelectorAll("svg#burndown polyline").length)`); n != "1" {
				t.Errorf("burn-down chart: %s lines, want 1", n)
			}
			b.shot(t, shots, "balance")

			// Usage: the default view, then the filter form for one user.
			b.open(t, w.url+"/admin/t/studio/usage?from=2025-11-01&to=2025-11-30")
			if got, want := atoi(t, b.text(t, "#per-user-total")), w.total; got != want {
				t.Errorf("usage total for November: got %d, want %d", got, want)
			}
			b.do(t, setValue(`select[name="user"]`, "mary.studio"))
			b.submit(t, "#filter button")
			if got := b.location(t); !strings.Contains(got, "user=mary.studio") {
				t.Errorf("after filtering: at %s, want user=mary.studio in the query", got)
			}
			if got, want := atoi(t, b.text(t, "#per-user-total")), w.tokens["mary.studio"]; got != want {
				t.Errorf("mary's tokens: got %d, want %d", got, want)
			}
			if n := b.eval(t, `String(document.querySelectorAll("svg#usage rect.s0").length)`); n != "20" {
				t.Errorf("mary's bars: got %s, want 20 (one per weekday of November)", n)
			}
			b.shot(t, shots, "usage")

			// CSV of what is on screen.
			b.do(t, click("#csv"))
			rows := parseCSV(t, b.waitDownload(t, "usage-studio-*.csv"))
			var tokens int64
			for _, r := range rows {
				if r["user"] != "mary.studio" {
					t.Errorf("CSV row for %q: the filter was mary.studio", r["user"])
				}
				tokens += atoi(t, r["tokens"])
			}
			if tokens != w.tokens["mary.studio"] || len(rows) != 20 {
				t.Errorf("CSV: %d rows, %d tokens; want 20 rows, %d tokens", len(rows), tokens, w.tokens["mary.studio"])
			}

			// The devices page: what each agent last reported. pc-john's agent reports
			// its version and a backlog two days old; the others' agents never did.
			_, err := w.devices["pc-john"].Send(ctx, api.Ingest{Agent: &api.AgentInfo{Version: "2.1.0", Backlog: 12, BacklogAge: 2 * 86400}})
			must(t, err)
			b.open(t, w.url+"/admin/t/studio/devices")
			row := func(name string) string {
				return b.eval(t, `Array.from(document.querySelectorAll("#devices tbody tr")).map(r => r.innerText).filter(t => t.startsWith(`+"`"+name+" `"+`)).join("|")`)
			}
			for _, c := range []struct{ device, want string }{
				{"pc-john", "2.1.0"},
				{"pc-john", after.Format("2006-01-02 15:04")}, // last sync: now
				{"pc-john", "less than a minute"},             // offline for
				{"pc-john", "12 entries, the oldest 2 days old"},
				{"pc-mary", "not reported"},
				{"pc-ann", "never"},  // no sync reported
				{"pc-ann", "2 days"}, // offline since its last use, on the 28th
			} {
				if got := row(c.device); !strings.Contains(got, c.want) {
					t.Errorf("devices page, row %s: got %q, want %q in it", c.device, got, c.want)
				}
			}
			if n := b.eval(t, `String(document.querySelectorAll("#devices td.stale").length)`); n != "1" {
				t.Errorf("devices page: %s backlogs marked, want 1 (pc-john's, two days old)", n)
			}

			// The other pages.
			for _, p := range []string{"forecast", "advisor", "devices", "notices", "users"} {
				b.open(t, w.url+"/admin/t/studio/"+p)
				if got := b.text(t, "h1"); got == "" || strings.Contains(got, "Not Found") {
					t.Errorf("page %s: heading %q", p, got)
				}
				b.shot(t, shots, p)
			}
			if got := b.text(t, "#users"); !strings.Contains(got, "mary.studio") {
				t.Errorf("users page: %q lacks mary.studio", got)
			}

			// A token price, entered on the forecast page, values the balance.
			b.open(t, w.url+"/admin/t/studio/forecast")
			b.do(t, setValue(`form.inline input[name="currency"]`, "EUR"), setValue(`form.inline input[name="token_price"]`, "0.5"))
			b.submit(t, "form.inline button")
			if got := b.text(t, "#message"); got != "Prices saved." {
				t.Errorf("after saving a price: message %q", got)
			}
			b.open(t, w.url+"/admin/t/studio/balance")
			if got, want := b.text(t, "#balance .small"), fmt.Sprintf("%s.%02d EUR", num((w.bought-w.total)/2), (w.bought-w.total)%2*50); got != want {
				t.Errorf("balance's value at 0.50 EUR a token: got %q, want %q", got, want)
			}

			// A restriction: the team's tokens cover AutoCAD only. Revit is refused by the
			// agent API from then on.
			dec, err := w.devices["pc-mary"].Authorize(ctx, "mary.studio", "revit", "")
			must(t, err)
			if !dec.Decision.Allowed {
				t.Fatalf("before the restriction, revit: %+v, want allowed", dec.Decision)
			}
			must(t, w.devices["pc-mary"].Release(ctx, dec.Hold))
			// The form shows "all" ticked and no product: untick all, tick AutoCAD.
			b.open(t, w.url+"/admin/t/studio/users")
			b.do(t, click(`#restrictions input[name="all"]`), click(`#restrictions input[value="autocad"]`))
			b.submit(t, "#restrictions button")
			if got := b.text(t, "#message"); !strings.Contains(got, "autocad") {
				t.Errorf("after the restriction: message %q, want it to name autocad", got)
			}
			dec, err = w.devices["pc-mary"].Authorize(ctx, "mary.studio", "revit", "")
			must(t, err)
			if dec.Decision.Allowed {
				t.Errorf("after restricting to autocad, revit: %+v, want refused", dec.Decision)
			}
			team, err := w.db.Team(ctx, "studio", after)
			must(t, err)
			if len(team.Products) != 1 || team.Products[0] != "autocad" {
				t.Errorf("studio's products: %v, want [autocad]", team.Products)
			}

			// The super-admin sees every team and a total.
			b.submit(t, `header .who button`)
			b.do(t, setValue("#token", w.super))
			b.submit(t, "form.signin button")
			if got := b.text(t, "#teams tfoot"); !strings.Contains(got, "All teams") {
				t.Errorf("summary: footer %q", got)
			}
			if got := b.text(t, "#teams tbody"); !strings.Contains(got, "studio") || !strings.Contains(got, "harbour") {
				t.Errorf("summary: %q, want both teams", got)
			}
			b.shot(t, shots, "summary")
			select {
			case m := <-b.dialogs:
				t.Errorf("a script ran in the console: dialog %q", m)
			default:
			}
		})
	}
}

// TestTeamAdminSeesOnlyItsTeam tries every page and every form of another team with a
// team admin's session, from the browser itself.
func TestTeamAdminSeesOnlyItsTeam(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			b := newBrowser(t)
			ctx := context.Background()
			b.open(t, w.url+"/admin/")
			b.do(t, setValue("#token", w.studio))
			b.submit(t, "form.signin button")
			for _, p := range []string{"balance", "usage", "usage.csv", "forecast", "advisor", "users", "devices", "notices", "nosuch"} {
				status := b.get(t, w.url+"/admin/t/harbour/"+p)
				body := b.text(t, "body")
				if status != http.StatusNotFound {
					t.Errorf("GET harbour/%s as studio's admin: status %d, want 404", p, status)
				}
				if strings.Contains(body, w.otherUser) || strings.Contains(body, "pc-eve") {
					t.Errorf("GET harbour/%s as studio's admin shows harbour's data: %q", p, body)
				}
			}
			csrf := b.eval(t, `document.querySelector('input[name="csrf"]').value`)
			forms := map[string]string{
				"restrictions": "product=autocad",
				"user":         "user=mallory.harbour&assigned=1&all=1",
				"subscription": "user=" + w.otherUser + "&product=revit&from=2025-11-01",
				"tags":         "user=" + w.otherUser + "&tags=stolen",
				"prices":       "currency=EUR&token_price=9",
			}
			for form, body := range forms {
				b.open(t, w.url+"/admin/t/studio/users")
				if got := b.post(t, "/admin/t/harbour/"+form, "csrf="+csrf+"&"+body); got != "Not Found" {
					t.Errorf("POST harbour/%s as studio's admin: page %q, want Not Found", form, got)
				}
			}
			team, err := w.db.Team(ctx, "harbour", after)
			must(t, err)
			users, err := w.db.Users(ctx, "harbour")
			must(t, err)
			prices, err := w.db.Prices(ctx, "harbour")
			must(t, err)
			tags, err := w.db.Tags(ctx, "harbour")
			must(t, err)
			if len(team.Products) != 0 || len(users) != 1 || len(users[0].Subscriptions) != 0 || prices.TokenMilli != 0 || len(tags) != 0 {
				t.Errorf("harbour changed by studio's admin: products %v, users %+v, prices %+v, tags %v", team.Products, users, prices, tags)
			}
		})
	}
}

// TestCSRFAndXSS: a change without the session's token, or from another origin, is
// refused; names that are HTML show as text and run nothing.
func TestCSRFAndXSS(t *testing.T) {
	w := newWorld(t, "sqlite")
	b := newBrowser(t)
	ctx := context.Background()
	b.open(t, w.url+"/admin/")
	b.do(t, setValue("#token", w.super))
	b.submit(t, "form.signin button")

	// Same origin, no token: refused.
	b.open(t, w.url+"/admin/t/studio/users")
	if got := b.post(t, "/admin/t/studio/restrictions", "product=autocad"); got != "Forbidden" {
		t.Errorf("POST without the CSRF token: page %q, want Forbidden", got)
	}
	// Same origin, a made-up token: refused.
	b.open(t, w.url+"/admin/t/studio/users")
	if got := b.post(t, "/admin/t/studio/restrictions", "csrf=guess&product=autocad"); got != "Forbidden" {
		t.Errorf("POST with a guessed CSRF token: page %q, want Forbidden", got)
	}
	// Another origin: a page elsewhere whose form posts to the console, with the real
	// token even (as if it had leaked).
	csrf := b.eval(t, `document.querySelector('input[name="csrf"]').value`)
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, `<!doctype html><main><form method="post" action="`+w.url+`/admin/t/studio/restrictions"><input name="csrf" value="`+csrf+`"><input name="product" value="autocad"><button id="go">win a prize</button></form></main>`)
	}))
	defer evil.Close()
	b.open(t, w.url+"/admin/t/studio/users")
	b.open(t, evil.URL)
	b.submit(t, "#go")
	if body := b.text(t, "body"); !strings.Contains(body, "refused") && !strings.Contains(body, "Sign in") {
		t.Errorf("cross-origin POST: page %q, want a refusal", body)
	}
	team, err := w.db.Team(ctx, "studio", after)
	must(t, err)
	if len(team.Products) != 0 {
		t.Errorf("studio's restrictions changed by forged requests: %v", team.Products)
	}

	// HTML in names shows as text.
	b.open(t, w.url+"/admin/t/studio/devices")
	if got := b.text(t, "#devices"); !strings.Contains(got, w.xssDevice) {
		t.Errorf("devices page: %q, want the device's name %q shown as text", got, w.xssDevice)
	}
	b.open(t, w.url+"/admin/")
	if got := b.text(t, "#teams"); !strings.Contains(got, w.xssTeam) {
		t.Errorf("summary: %q, want the team name %q shown as text", got, w.xssTeam)
	}
	if n := b.eval(t, `String(document.querySelectorAll("script, img").length)`); n != "0" {
		t.Errorf("summary: %s script or img elements, want 0", n)
	}
	// A user id that is a script: refused with a message shown as text; nothing stored.
	b.open(t, w.url+"/admin/t/studio/users")
	b.do(t, setValue(`#user-form input[name="user"]`, `<script>alert("user")</script>`))
	b.submit(t, "#user-form button")
	if got := b.text(t, "#message"); !strings.Contains(got, `"<script>alert(`) || !strings.Contains(got, "Nothing was changed") {
		t.Errorf("user id <script>: message %q, want the refusal quoting it as text", got)
	}
	users, err := w.db.Users(ctx, "studio")
	must(t, err)
	if len(users) != 3 {
		t.Errorf("studio has %d users after a refused one, want 3", len(users))
	}
	select {
	case m := <-b.dialogs:
		t.Errorf("a script ran: dialog %q", m)
	default:
	}
}

// num writes n with thousands separators, as the console does.
func num(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
