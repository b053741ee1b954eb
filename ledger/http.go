package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// Body limits: an ingest batch of store.MaxBatch events fits in 4 MiB with room to
// spare; nothing else is large.
const (
	maxBody   = 64 << 10
	maxIngest = 4 << 20
)

// status maps an error code to its HTTP status.
var status = map[string]int{
	api.CodeBadRequest:      http.StatusBadRequest,
	api.CodeInvalidEvents:   http.StatusUnprocessableEntity,
	api.CodeUnauthorized:    http.StatusUnauthorized,
	api.CodeForbidden:       http.StatusForbidden,
	api.CodeNotFound:        http.StatusNotFound,
	api.CodeConflict:        http.StatusConflict,
	api.CodeSmallOrder:      http.StatusUnprocessableEntity,
	api.CodePartialTransfer: http.StatusUnprocessableEntity,
	api.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	api.CodeOverloaded:      http.StatusServiceUnavailable,
	api.CodePaced:           http.StatusTooManyRequests,
	api.CodeInternal:        http.StatusInternalServerError,
	api.CodeTooManyHolds:    http.StatusConflict, // a refusal, not overload: the device is not to back off
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func fail(w http.ResponseWriter, code, msg string) {
	reply(w, status[code], api.ErrorBody{Error: api.Error{Code: code, Message: msg}})
}

// failErr answers err; errors that are not refusals are logged and hidden.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var se *store.Error
	if errors.As(err, &se) {
		reply(w, status[se.Code], api.ErrorBody{Error: api.Error{Code: se.Code, Message: se.Message, Events: se.Events}})
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	s.log.Error("request", zap.String("path", r.URL.Path), zap.Error(err))
	fail(w, api.CodeInternal, "the ledger could not complete the request; it was not applied; try again, and tell the ledger's operator if it persists")
}

// decode reads a JSON body strictly: unknown fields, trailing data and bodies over limit
// are refused, so that a typo in a field name never silently does nothing.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON value")
	} else if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		fail(w, api.CodeTooLarge, fmt.Sprintf("request body over %d bytes; send smaller batches", limit))
		return false
	}
	fail(w, api.CodeBadRequest, "request body: "+strings.TrimPrefix(err.Error(), "json: ")+"; send one JSON object with the documented fields")
	return false
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// device authenticates an agent call: the credential names one device, and the call
// sees only that device's team.
func (s *Server) device(h func(http.ResponseWriter, *http.Request, api.Device)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			fail(w, api.CodeUnauthorized, "no device credential: send 'Authorization: Bearer <credential>' from enrollment")
			return
		}
		d, err := s.deviceOf(r.Context(), tok)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		s.touch(r.Context(), d.ID)
		h(w, r, d)
	}
}

// maxDevices bounds the credentials the server remembers; past it, it starts over.
const maxDevices = 100_000

// deviceOf finds the device of a credential, once per credential per process: a
// device's id and team never change, so every later call of a device is authenticated
// without a query. Unknown credentials are not remembered.
func (s *Server) deviceOf(ctx context.Context, tok string) (api.Device, error) {
	h := store.Hash(tok)
	s.mu.Lock()
	d, ok := s.devices[h]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := s.store.DeviceByCredential(ctx, tok)
	if err != nil {
		return d, err
	}
	s.mu.Lock()
	if len(s.devices) >= maxDevices {
		clear(s.devices)
	}
	s.devices[h] = d
	s.mu.Unlock()
	return d, nil
}

// touch writes a device's last_seen at most once a minute.
func (s *Server) touch(ctx context.Context, device string) {
	now := s.now()
	s.mu.Lock()
	last, ok := s.seen[device]
	due := !ok || now.Sub(last) >= time.Minute || now.Before(last)
	if due {
		s.seen[device] = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.store.Seen(ctx, device, now); err != nil {
		s.log.Warn("last seen", zap.String("device", device), zap.Error(err))
	}
}

// admin authenticates an admin call. A team-scoped token may act on its team only: the
// {team} of the path must be it, and with super set only a token for every team will do.
func (s *Server) admin(super bool, h func(http.ResponseWriter, *http.Request, store.AdminToken)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			fail(w, api.CodeUnauthorized, "no admin token: send 'Authorization: Bearer <admin token>' (tollgate ledger: --token or TOLLGATE_ADMIN_TOKEN)")
			return
		}
		a, err := s.store.AdminByToken(r.Context(), tok)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		if super && a.Team != "" {
			fail(w, api.CodeForbidden, "this needs the ledger's super-admin token; a team's admin token cannot do it")
			return
		}
		if team := r.PathValue("team"); team != "" && !a.May(team) {
			fail(w, api.CodeForbidden, fmt.Sprintf("this admin token is for team %q, not %q", a.Team, team))
			return
		}
		h(w, r, a)
	}
}

// limit answers 503 with Retry-After when MaxInFlight requests are being served.
func (s *Server) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
			h.ServeHTTP(w, r)
		default:
			s.metrics.overload.Inc()
			w.Header().Set("Retry-After", "1")
			fail(w, api.CodeOverloaded, "the ledger is serving as many requests as it may; retry after the Retry-After seconds")
		}
	})
}
