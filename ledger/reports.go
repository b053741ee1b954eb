package ledger

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// span reads a report's from and to (RFC 3339 or YYYY-MM-DD, UTC): by default the 30
// days up to now.
func (s *Server) span(r *http.Request) (from, to time.Time, err error) {
	to = s.now().Add(time.Nanosecond) // up to and including now: what just happened is in the report

	if v := r.URL.Query().Get("to"); v != "" {
		if to, err = parseTime(v); err != nil {
			return from, to, fmt.Errorf("to: %w", err)
		}
	}
	from = to.Add(-30 * charge.Day)
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = parseTime(v); err != nil {
			return from, to, fmt.Errorf("from: %w", err)
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, v); err != nil {
			return t, fmt.Errorf("%q: want YYYY-MM-DD or an RFC 3339 time", v)
		}
	}
	t = t.UTC()
	return t, charge.CheckTime("date", t)
}

// format is the report's format: json (default) or csv.
func format(r *http.Request) (string, bool) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return "json", true
	case "csv":
		return "csv", true
	}
	return "", false
}

func writeCSV(w http.ResponseWriter, name string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+".csv"))
	c := csv.NewWriter(w)
	c.WriteAll(rows)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// reportQuery reads a report's span and format, answering a bad one itself.
func (s *Server) reportQuery(w http.ResponseWriter, r *http.Request) (from, to time.Time, f string, ok bool) {
	return s.reportQueryOf(w, r, format)
}

// tokenFormat is the token report's format: json (default), csv, or jsonl (JSON lines).
func tokenFormat(r *http.Request) (string, bool) {
	if f := r.URL.Query().Get("format"); f == "jsonl" {
		return f, true
	}
	return format(r)
}

func (s *Server) reportQueryOf(w http.ResponseWriter, r *http.Request, format func(*http.Request) (string, bool)) (from, to time.Time, f string, ok bool) {
	from, to, err := s.span(r)
	if err != nil {
		fail(w, api.CodeBadRequest, err.Error())
		return from, to, "", false
	}
	if f, ok = format(r); !ok {
		fail(w, api.CodeBadRequest, fmt.Sprintf("format %q: want json or csv (or jsonl, for the token report)", r.URL.Query().Get("format")))
	}
	return from, to, f, ok
}

func (s *Server) usageReport(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	from, to, f, ok := s.reportQuery(w, r)
	if !ok {
		return
	}
	rows, err := s.store.Usage(r.Context(), r.PathValue("team"), from, to)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if f == "json" {
		reply(w, http.StatusOK, rows)
		return
	}
	out := [][]string{{"day", "user", "product", "device", "sessions", "subscription", "paid_window", "denied", "use_seconds", "charges", "tokens", "duplicates"}}
	for _, u := range rows {
		out = append(out, []string{u.Day, u.User, u.Product, u.Device, itoa(u.Sessions), itoa(u.Subscription), itoa(u.PaidWindow),
			itoa(u.Denied), itoa(u.UseSeconds), itoa(u.Charges), itoa(u.Tokens), itoa(u.Duplicates)})
	}
	writeCSV(w, "usage", out)
}

// Sections of the token report, each one CSV table.
var sections = []string{"daily", "history", "packs", "expiring", "refused", "idle"}

// tokenReport answers the token report: in JSON, the whole report, or with section=S
// one section in pages (limit, cursor); in CSV (section daily by default) or JSON lines
// (format=jsonl), one section streamed whole.
func (s *Server) tokenReport(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	from, to, f, ok := s.reportQueryOf(w, r, tokenFormat)
	if !ok {
		return
	}
	section := r.URL.Query().Get("section")
	if f == "json" && section == "" {
		if q := r.URL.Query(); q.Get("limit") != "" || q.Get("cursor") != "" {
			fail(w, api.CodeBadRequest, fmt.Sprintf("limit and cursor page one section; give section, one of %v", sections))
			return
		}
		rep, err := s.store.Tokens(r.Context(), r.PathValue("team"), from, to, s.now())
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		reply(w, http.StatusOK, rep)
		return
	}
	if section == "" {
		section = "daily"
	}
	s.tokenSection(w, r, section, f, from, to)
}
