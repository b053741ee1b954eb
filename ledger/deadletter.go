package ledger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// skewTolerance is how far ahead of the ledger's a device's clock may be and its times
// still be taken as they are: a key must not move with noise. Beyond it, the skew is
// rounded to skewStep so that the batches of one device are all corrected by the same
// amount and a window's renewal stays a day after it. A device that looks behind is
// taken as stamped: a batch's time in flight (or a test clock moved meanwhile) makes a
// device look behind, never ahead, and times in the past are accepted anyway; a clock
// ahead is what made charges "in the future" and lost.
const (
	skewTolerance = time.Minute
	skewStep      = time.Minute
)

// deskew corrects the times of a batch stamped by a clock more than skewTolerance ahead
// of the ledger's, by the difference between the device's clock when it sent the batch
// and the ledger's, and returns that correction (0: none). A charge is use that
// happened: a workstation's clock ahead must not lose it, nor put it at the wrong time.
func (s *Server) deskew(in *api.Ingest) time.Duration {
	if in.DeviceNow.IsZero() {
		return 0
	}
	skew := in.DeviceNow.Sub(s.now())
	if skew <= skewTolerance {
		return 0
	}
	skew = skew.Round(skewStep)
	for i := range in.Events {
		e := &in.Events[i]
		if !e.At.IsZero() {
			e.At = e.At.Add(-skew)
		}
		if !e.Key.Start.IsZero() {
			e.Key.Start = e.Key.Start.Add(-skew)
		}
	}
	return skew
}

// deadLetter keeps the events of a batch that the ledger refused, with the reason, so an
// admin sees them and can re-send them once the cause is fixed. A window named in an
// answer is given back in the device's frame, as it stamped its events.
func (s *Server) deadLetter(ctx context.Context, d api.Device, events []api.Event, results []api.Result, skew time.Duration) {
	byID := map[string]api.Event{}
	for _, e := range events {
		byID[e.ID] = e
	}
	var refused []store.Refusal
	for i := range results {
		r := &results[i]
		if r.Window != nil && skew != 0 {
			w := *r.Window
			w.Start = w.Start.Add(skew)
			r.Window = &w
		}
		if r.Status != api.Refused {
			continue
		}
		e, ok := byID[r.ID]
		if !ok {
			continue
		}
		refused = append(refused, store.Refusal{Event: e, Skew: skew, Code: r.Code, Message: r.Message})
		s.metrics.refused.WithLabelValues(r.Code).Inc()
	}
	if len(refused) == 0 {
		return
	}
	s.log.Warn("events refused; kept in the dead-letter for an admin to re-send ('tollgate ledger dead-letter retry')",
		zap.String("team", d.Team), zap.String("device", d.ID), zap.Int("events", len(refused)),
		zap.String("code", refused[0].Code), zap.String("reason", refused[0].Message), zap.Duration("skew", skew))
	if err := s.store.DeadLetter(ctx, d.Team, d.ID, refused, s.now()); err != nil {
		s.log.Error("dead-letter not written: the refused events are only in the device's journal", zap.String("device", d.ID), zap.Error(err))
	}
	s.countDeadLetters(ctx)
}

// countDeadLetters refreshes the open dead letters' gauge; it is read after every change,
// never at scrape time.
func (s *Server) countDeadLetters(ctx context.Context) {
	n, err := s.store.OpenDeadLetters(ctx)
	if err != nil {
		s.log.Warn("dead-letter count", zap.Error(err))
		return
	}
	s.metrics.deadLetters.Set(float64(n))
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	f, ok := format(r)
	if !ok {
		fail(w, api.CodeBadRequest, "format: want json or csv")
		return
	}
	ls, err := s.store.DeadLetters(r.Context(), r.PathValue("team"), r.URL.Query().Get("all") != "")
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if f == "json" {
		reply(w, http.StatusOK, ls)
		return
	}
	out := [][]string{{"first_refused", "last_refused", "device", "event", "kind", "user", "product", "at", "tokens", "skew", "code", "message", "attempts", "resolved", "resolution"}}
	for _, l := range ls {
		out = append(out, []string{ts(l.FirstRefused), ts(l.LastRefused), l.Device, l.ID, l.Kind, l.User, l.Product, ts(l.At), itoa(l.Tokens),
			l.Skew.String(), l.Code, l.Message, itoa(l.Attempts), ts(l.Resolved), l.Resolution})
	}
	writeCSV(w, "refused", out)
}

// retryRequest asks which dead letters to send again: one (ID) or all of the team.
type retryRequest struct {
	ID string `json:"id,omitempty"`
}

// retryDeadLetters applies a team's open dead letters again, one by one, as their device
// sent them (times already corrected): those the ledger now takes are closed with their
// answer, the others stay, with the new reason.
func (s *Server) retryDeadLetters(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v retryRequest
	if !decode(w, r, maxBody, &v) {
		return
	}
	ctx, team := r.Context(), r.PathValue("team")
	dead, err := s.store.DeadEvents(ctx, team, v.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if v.ID != "" && len(dead) == 0 {
		fail(w, api.CodeNotFound, fmt.Sprintf("no open dead letter %q in team %q; list them with 'tollgate ledger report refused --team %s'", v.ID, team, team))
		return
	}
	out := api.Retried{Results: []api.Result{}}
	for _, d := range dead {
		res, err := s.retryOne(ctx, team, d)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		out.Results = append(out.Results, res)
	}
	s.countDeadLetters(ctx)
	reply(w, http.StatusOK, out)
}

// retryOne applies a dead letter again under an event id of its own for this attempt
// (the original id and the number of refusals so far): the ledger may have recorded the
// refused event under its original id, which would answer a re-send as a duplicate; an
// attempt applied whose answer was lost is, sent again, a duplicate of itself.
func (s *Server) retryOne(ctx context.Context, team string, d store.DeadEvent) (api.Result, error) {
	now := s.now()
	e := d.Event
	e.ID = fmt.Sprintf("%s/retry-%d", d.Event.ID, d.Attempts)
	rs, err := s.store.Ingest(ctx, team, d.Device, []api.Event{e}, now)
	var res api.Result
	var se *store.Error
	switch {
	case errors.As(err, &se) && se.Code == api.CodeInvalidEvents && len(se.Events) > 0:
		res = se.Events[0]
	case err != nil:
		return res, err
	case len(rs) == 1:
		res = rs[0]
	default:
		return res, fmt.Errorf("dead letter %s: %d answers to one event", d.Event.ID, len(rs))
	}
	res.ID = d.Event.ID
	if res.Status == api.Refused {
		return res, s.store.DeadLetter(ctx, team, d.Device, []store.Refusal{{Event: d.Event, Code: res.Code, Message: res.Message}}, now)
	}
	s.metrics.ingest.WithLabelValues(res.Status).Inc()
	s.log.Info("dead letter re-sent", zap.String("team", team), zap.String("device", d.Device), zap.String("event", d.Event.ID), zap.String("status", res.Status))
	return res, s.store.ResolveDeadLetter(ctx, d.Device, d.Event.ID, res.Status, now)
}
