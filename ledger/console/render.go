package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

func zapErr(err error) zap.Field { return zap.Error(err) }

// view is what every page's template gets.
type view struct {
	Title   string
	Team    string // the team shown; "" on the sign-in and summary pages
	Page    string
	Admin   string // who is signed in
	Super   bool
	CSRF    string
	Message string
	Bad     bool
	Now     time.Time
	Data    any
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format(time.DateOnly)
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"num":   num,
	"money": charge.Money,
	"ago":   ago,
	"f1":    func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"list":  productList,
	"join":  strings.Join,
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"sumTable": func(id, head string, rows []sum, total any, currency string) map[string]any {
		t, _ := total.(sum)
		m := map[string]any{"ID": id, "Head": head, "Rows": rows, "Currency": currency, "Total": nil}
		if total != nil {
			m["Total"] = t
		}
		return m
	},
	"milli": func(m int64) string { // an amount field's value: 1250 -> 1.25
		if m == 0 {
			return ""
		}
		return strconv.FormatFloat(float64(m)/1000, 'f', -1, 64)
	},
}

// num formats an integer with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ago says how long a duration is, in the largest unit that fits.
func ago(d time.Duration) string { return api.Ago(d) }

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func parsePages() map[string]*template.Template {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err) // the embedded files are fixed at build time
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		pages[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n))
	}
	return pages
}

// render writes a page whole or not at all: a template error is a 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, page string, s *session, v view) {
	v.Page, v.Now = page, c.now()
	if s != nil {
		v.CSRF, v.Super, v.Admin = s.csrf, s.admin.Team == "", s.admin.Name
		if m, bad := c.takeFlash(s); m != "" && v.Message == "" {
			v.Message, v.Bad = m, bad
		}
	}
	var b bytes.Buffer
	if err := c.pages[page].Execute(&b, v); err != nil {
		c.log.Error("render", zap.String("page", page), zap.Error(err))
		http.Error(w, "The page could not be drawn; the ledger's log has the details.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// problem answers with a page that says what went wrong.
func (c *Console) problem(w http.ResponseWriter, r *http.Request, s *session, code int, msg string) {
	var b bytes.Buffer
	v := view{Title: http.StatusText(code), Message: msg, Bad: true, Now: c.now(), Page: "problem"}
	if s != nil {
		v.CSRF, v.Super, v.Admin = s.csrf, s.admin.Team == "", s.admin.Name
	}
	if err := c.pages["problem"].Execute(&b, v); err != nil {
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// fail answers a store error: refusals with their message, anything else hidden and logged.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	switch store.Code(err) {
	case api.CodeNotFound:
		c.problem(w, r, s, http.StatusNotFound, err.Error())
	case api.CodeBadRequest, api.CodeConflict, api.CodeForbidden:
		c.problem(w, r, s, http.StatusBadRequest, err.Error())
	default:
		c.log.Error("page", zap.String("path", r.URL.Path), zap.Error(err))
		c.problem(w, r, s, http.StatusInternalServerError, "The ledger could not read this page's data; try again, and tell the ledger's operator if it persists.")
	}
}

func storeCode(err error) string { return store.Code(err) }

// productList names a set of products; none means all.
func productList(p []string) string {
	if len(p) == 0 {
		return "all"
	}
	return strings.Join(p, ", ")
}
