package ledger

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var e api.Enroll
	if !decode(w, r, maxBody, &e) {
		return
	}
	out, err := s.store.Enroll(r.Context(), e, s.now())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	reply(w, http.StatusCreated, out)
}

func (s *Server) entitlement(w http.ResponseWriter, r *http.Request, d api.Device) {
	e, err := s.store.Entitlement(r.Context(), d.Team, r.PathValue("user"), s.now())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	reply(w, http.StatusOK, e)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, d api.Device) {
	var a api.Authorize
	if !decode(w, r, maxBody, &a) {
		return
	}
	out, err := s.store.Authorize(r.Context(), d.Team, d.ID, a, s.now())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.metrics.decisions.WithLabelValues(string(out.Decision.Reason)).Inc()
	reply(w, http.StatusOK, out)
}

func (s *Server) release(w http.ResponseWriter, r *http.Request, d api.Device) {
	var rel api.Release
	if !decode(w, r, maxBody, &rel) {
		return
	}
	if err := s.store.Release(r.Context(), d.Team, d.ID, rel.Hold, s.now()); err != nil {
		s.failErr(w, r, err)
		return
	}
	reply(w, http.StatusOK, map[string]string{"hold": rel.Hold, "status": "released"})
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request, d api.Device) {
	var in api.Ingest
	if !decode(w, r, maxIngest, &in) {
		return
	}
	skew := s.deskew(&in)
	var rs []api.Result
	var err error
	if len(in.Events) > 0 || in.Agent == nil {
		// A report-only sync (no events) is not bulk work: it is never paced.
		ran := false
		s.paced(w, r, func() {
			ran = true
			rs, err = s.store.Ingest(r.Context(), d.Team, d.ID, in.Events, s.now())
		})
		if !ran {
			return
		}
	}
	var se *store.Error
	if errors.As(err, &se) && se.Code == api.CodeInvalidEvents {
		s.deadLetter(r.Context(), d, in.Events, se.Events, skew)
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, res := range rs {
		s.metrics.ingest.WithLabelValues(res.Status).Inc()
	}
	s.deadLetter(r.Context(), d, in.Events, rs, skew)
	s.synced(r, d, in.Agent)
	reply(w, http.StatusOK, api.Ingested{Results: rs})
}

// synced keeps what an agent reported with a sync the ledger answered. A report it cannot
// keep is logged and left out: the events were taken, and the Devices page shows the last
// good report.
func (s *Server) synced(r *http.Request, d api.Device, a *api.AgentInfo) {
	if a == nil {
		return
	}
	if err := s.store.Synced(r.Context(), d.ID, *a, s.now()); err != nil {
		s.log.Warn("agent report not kept", zap.String("device", d.ID), zap.Error(err))
	}
}
