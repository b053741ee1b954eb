package ledger

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// MaxPage is the most rows one page of a report section may ask for.
const MaxPage = 10000

// rowWriter writes a report section as it is read from the store: CSV, JSON lines, or a
// JSON page object. Nothing is sent before the first row, so that an error found before
// it (an unknown team, a bad cursor) is still answered with its status; an error after
// it aborts the response, so that a client never takes a cut-short report for a whole
// one.
type rowWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	format  string // csv, jsonl or json
	name    string // the CSV file's name
	header  []string
	csv     *csv.Writer
	started bool
	n       int
}

func newRowWriter(w http.ResponseWriter, format, name string, header []string) *rowWriter {
	return &rowWriter{w: w, rc: http.NewResponseController(w), format: format, name: name, header: header}
}

// stream is how long the client may take to read the next rows: the server's write
// timeout is pushed back this far as rows go out, so that a year's report may take
// minutes while a client that stops reading is still let go.
const stream = time.Minute

func (rw *rowWriter) start() {
	if rw.started {
		return
	}
	rw.started = true
	rw.rc.SetWriteDeadline(time.Now().Add(stream))
	h := rw.w.Header()
	switch rw.format {
	case "csv":
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rw.name+".csv"))
		rw.csv = csv.NewWriter(rw.w)
		rw.csv.Write(rw.header)
	case "jsonl":
		h.Set("Content-Type", "application/jsonl; charset=utf-8")
	default:
		h.Set("Content-Type", "application/json")
		rw.w.Write([]byte(`{"rows":[`))
	}
}

// row writes one row: cells for CSV, v for JSON.
func (rw *rowWriter) row(cells []string, v any) error {
	rw.start()
	switch rw.format {
	case "csv":
		if err := rw.csv.Write(cells); err != nil {
			return err
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if rw.format == "json" && rw.n > 0 {
			b = append([]byte{','}, b...)
		}
		if rw.format == "jsonl" {
			b = append(b, '\n')
		}
		if _, err := rw.w.Write(b); err != nil {
			return err
		}
	}
	rw.n++
	if rw.n%1000 == 0 {
		rw.rc.SetWriteDeadline(time.Now().Add(stream))
	}
	return nil
}

// end finishes the section after the store's read, whose error it answers.
func (rw *rowWriter) end(s *Server, r *http.Request, next string, err error) {
	if err != nil {
		if !rw.started {
			s.failErr(rw.w, r, err)
			return
		}
		s.log.Error("report stream", zap.String("path", r.URL.Path), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
	rw.start()
	switch rw.format {
	case "csv":
		rw.csv.Flush()
	case "json":
		b, _ := json.Marshal(next)
		fmt.Fprintf(rw.w, `],"next":%s}`+"\n", b)
	}
}

// page reads the limit and cursor of a page of a section.
func page(r *http.Request) (store.Page, error) {
	p := store.Page{Cursor: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			return p, fmt.Errorf("limit %q: want a number of rows from 1 to %d", v, MaxPage)
		}
		p.Limit = n
	}
	return p, nil
}

// tokenSection answers one section of the token report, streamed: daily, history and
// refused as they are read, in pages for JSON; packs and expiring whole.
func (s *Server) tokenSection(w http.ResponseWriter, r *http.Request, section, f string, from, to time.Time) {
	team := r.PathValue("team")
	p, err := page(r)
	if err != nil {
		fail(w, api.CodeBadRequest, err.Error())
		return
	}
	if f != "json" && (p.Limit > 0 || p.Cursor != "") {
		fail(w, api.CodeBadRequest, "limit and cursor page the JSON format; CSV and JSON lines stream the whole section")
		return
	}
	ctx := r.Context()
	switch section {
	case "daily":
		rw := newRowWriter(w, f, "tokens-daily", []string{"day", "team", "user", "product", "charges", "tokens"})
		next, err := s.store.TokenDaily(ctx, team, from, to, p, func(d api.TokenDay) error {
			return rw.row([]string{d.Day, d.Team, d.User, d.Product, itoa(d.Charges), itoa(d.Tokens)}, d)
		})
		rw.end(s, r, next, err)
	case "history":
		rw := newRowWriter(w, f, "tokens-history", []string{"id", "at", "team", "pack", "kind", "tokens", "debt", "ref", "balance"})
		next, err := s.store.TokenHistory(ctx, team, from, to, p, func(m api.Movement) error {
			return rw.row([]string{itoa(m.ID), ts(m.At), m.Team, m.Pack, string(m.Kind), itoa(m.Tokens), itoa(m.Debt), m.Ref, itoa(m.Balance)}, m)
		})
		rw.end(s, r, next, err)
	case "refused":
		if p.Limit > 0 || p.Cursor != "" {
			fail(w, api.CodeBadRequest, "the refused section is not paged; ask without limit and cursor")
			return
		}
		rw := newRowWriter(w, f, "tokens-refused", []string{"at", "device", "event", "user", "product", "window_start", "tokens", "status", "message"})
		err := s.store.TokenRefused(ctx, team, from, to, func(x api.Refusal) error {
			return rw.row([]string{ts(x.At), x.Device, x.Event, x.User, x.Product, ts(x.Start), itoa(x.Tokens), x.Status, x.Message}, x)
		})
		rw.end(s, r, "", err)
	case "packs", "expiring":
		if p.Limit > 0 || p.Cursor != "" {
			fail(w, api.CodeBadRequest, fmt.Sprintf("the %s section is not paged; ask without limit and cursor", section))
			return
		}
		all, expiring, err := s.store.TokenPacks(ctx, team, s.now())
		ps := all
		if section == "expiring" {
			ps = expiring
		}
		rw := newRowWriter(w, f, "tokens-"+section, []string{"pack", "team", "tokens", "left", "bought", "expires"})
		if err == nil {
			for _, k := range ps {
				if err = rw.row([]string{k.ID, k.Team, itoa(k.Tokens), itoa(k.Left), ts(k.Bought), ts(k.Expires)}, k); err != nil {
					break
				}
			}
		}
		rw.end(s, r, "", err)
	case "idle":
		if p.Limit > 0 || p.Cursor != "" {
			fail(w, api.CodeBadRequest, "the idle section is not paged; ask without limit and cursor")
			return
		}
		days, err := s.store.Idle(ctx, team, from, to)
		rw := newRowWriter(w, f, "tokens-idle", []string{"day", "team", "user", "product", "idle_renewals", "idle_tokens", "idle_closes", "saved_tokens"})
		if err == nil {
			for _, d := range days {
				if err = rw.row([]string{d.Day, d.Team, d.User, d.Product, itoa(d.IdleRenewals), itoa(d.IdleTokens), itoa(d.IdleCloses), itoa(d.SavedTokens)}, d); err != nil {
					break
				}
			}
		}
		rw.end(s, r, "", err)
	default:
		fail(w, api.CodeBadRequest, fmt.Sprintf("section %q: want one of %v", section, sections))
	}
}
