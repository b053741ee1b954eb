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
	from, to, err := s.span(r)
	if err != nil {
		fail(w, api.CodeBadRequest, err.Error())
		return from, to, "", false
	}
	if f, ok = format(r); !ok {
		fail(w, api.CodeBadRequest, "format: want json or csv")
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

func (s *Server) tokenReport(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	from, to, f, ok := s.reportQuery(w, r)
	if !ok {
		return
	}
	rep, err := s.store.Tokens(r.Context(), r.PathValue("team"), from, to, s.now())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if f == "json" {
		reply(w, http.StatusOK, rep)
		return
	}
	section := r.URL.Query().Get("section")
	var out [][]string
	switch section {
	case "", "daily":
		section = "daily"
		out = [][]string{{"day", "team", "user", "product", "charges", "tokens"}}
		for _, d := range rep.Daily {
			out = append(out, []string{d.Day, d.Team, d.User, d.Product, itoa(d.Charges), itoa(d.Tokens)})
		}
	case "history":
		out = [][]string{{"id", "at", "team", "pack", "kind", "tokens", "debt", "ref", "balance"}}
		for _, m := range rep.History {
			out = append(out, []string{itoa(m.ID), ts(m.At), m.Team, m.Pack, m.Kind, itoa(m.Tokens), itoa(m.Debt), m.Ref, itoa(m.Balance)})
		}
	case "packs", "expiring":
		ps := rep.Packs
		if section == "expiring" {
			ps = rep.Expiring
		}
		out = [][]string{{"pack", "team", "tokens", "left", "bought", "expires"}}
		for _, p := range ps {
			out = append(out, []string{p.ID, p.Team, itoa(p.Tokens), itoa(p.Left), ts(p.Bought), ts(p.Expires)})
		}
	case "refused":
		out = [][]string{{"at", "device", "event", "user", "product", "window_start", "tokens", "status", "message"}}
		for _, x := range rep.Refused {
			out = append(out, []string{ts(x.At), x.Device, x.Event, x.User, x.Product, ts(x.Start), itoa(x.Tokens), x.Status, x.Message})
		}
	case "idle":
		out = [][]string{{"day", "team", "user", "product", "idle_renewals", "idle_tokens", "idle_closes", "saved_tokens"}}
		for _, d := range rep.Idle {
			out = append(out, []string{d.Day, d.Team, d.User, d.Product, itoa(d.IdleRenewals), itoa(d.IdleTokens), itoa(d.IdleCloses), itoa(d.SavedTokens)})
		}
	default:
		fail(w, api.CodeBadRequest, fmt.Sprintf("section %q: want one of %v", section, sections))
		return
	}
	writeCSV(w, "tokens-"+section, out)
}
