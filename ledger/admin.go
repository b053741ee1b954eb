package ledger

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// answer replies with v, or with err when there is one.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, code int, v any, err error) {
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	reply(w, code, v)
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var t api.NewTeam
	if !decode(w, r, maxBody, &t) {
		return
	}
	out, err := s.store.CreateTeam(r.Context(), t, s.now())
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request, a store.AdminToken) {
	out, err := s.store.Teams(r.Context(), a.Team, s.now())
	if out == nil {
		out = []api.Team{}
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Team(r.Context(), r.PathValue("team"), s.now())
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) setRestrictions(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.Restrictions
	if !decode(w, r, maxBody, &v) {
		return
	}
	out, err := s.store.SetRestrictions(r.Context(), r.PathValue("team"), v, s.now())
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) setSettings(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.Settings
	if !decode(w, r, maxBody, &v) {
		return
	}
	if v.Webhook != nil {
		if err := s.checkWebhookTarget(*v.Webhook); err != nil {
			fail(w, api.CodeBadRequest, err.Error())
			return
		}
	}
	out, err := s.store.SetSettings(r.Context(), r.PathValue("team"), v, s.now())
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) buyPack(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.BuyPack
	if !decode(w, r, maxBody, &v) {
		return
	}
	out, err := s.store.BuyPack(r.Context(), r.PathValue("team"), v, s.now())
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Server) listPacks(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Packs(r.Context(), r.PathValue("team"))
	if out == nil {
		out = []api.Pack{}
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) transferPack(w http.ResponseWriter, r *http.Request, a store.AdminToken) {
	var v api.Transfer
	if !decode(w, r, maxBody, &v) {
		return
	}
	if !a.May(v.To) {
		fail(w, api.CodeForbidden, fmt.Sprintf("this admin token is for team %q and cannot give to team %q; use the super-admin token", a.Team, v.To))
		return
	}
	out, err := s.store.TransferPack(r.Context(), r.PathValue("team"), r.PathValue("pack"), v, s.now())
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Products(r.Context())
	if out == nil {
		out = []api.Product{}
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) putProduct(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.Product
	if !decode(w, r, maxBody, &v) {
		return
	}
	if v.ID != "" && v.ID != r.PathValue("product") {
		fail(w, api.CodeBadRequest, fmt.Sprintf("body id %q differs from the path's %q; leave it out", v.ID, r.PathValue("product")))
		return
	}
	v.ID = r.PathValue("product")
	out, err := s.store.PutProduct(r.Context(), v, s.now())
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Users(r.Context(), r.PathValue("team"))
	if out == nil {
		out = []api.User{}
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.User(r.Context(), r.PathValue("team"), r.PathValue("user"))
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) putUser(w http.ResponseWriter, r *http.Request, a store.AdminToken) {
	var v api.PutUser
	if !decode(w, r, maxBody, &v) {
		return
	}
	team, user := r.PathValue("team"), r.PathValue("user")
	out, err := s.store.PutUser(r.Context(), team, user, v)
	if errors.Is(err, store.ErrOtherTeam) && a.Team != "" {
		// Which ids other teams use, and who is in which team, is the super-admin's to know.
		fail(w, api.CodeForbidden, idUnavailable(user, team))
		return
	}
	s.answer(w, r, http.StatusOK, out, err)
}

// idUnavailable is the one answer a team's admin gets for a user id it may not use.
func idUnavailable(user, team string) string {
	return fmt.Sprintf("user id %q cannot be used in team %q with this admin token; choose another id, or ask the ledger's super-admin", user, team)
}

func (s *Server) addSubscription(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v charge.Subscription
	if !decode(w, r, maxBody, &v) {
		return
	}
	out, err := s.store.AddSubscription(r.Context(), r.PathValue("team"), r.PathValue("user"), v)
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Devices(r.Context(), r.PathValue("team"))
	if out == nil {
		out = []api.Device{}
	}
	now := s.now()
	for i := range out {
		out[i].Age(now)
	}
	s.answer(w, r, http.StatusOK, out, err)
}

// DefaultEnrollValidity is how long an enrollment token works when no validity is given.
const DefaultEnrollValidity = 30 * charge.Day

func (s *Server) createEnrollToken(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.NewEnrollToken
	if !decode(w, r, maxBody, &v) {
		return
	}
	valid := DefaultEnrollValidity
	if v.ValidFor != "" {
		d, err := time.ParseDuration(v.ValidFor)
		if err != nil || d <= 0 || d > 366*charge.Day {
			fail(w, api.CodeBadRequest, fmt.Sprintf("valid_for %q: want a duration such as 720h, at most a year", v.ValidFor))
			return
		}
		valid = d
	}
	now := s.now()
	out, err := s.store.CreateEnrollToken(r.Context(), r.PathValue("team"), now, now.Add(valid))
	s.answer(w, r, http.StatusCreated, out, err)
}

func (s *Server) createAdminToken(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.NewAdminToken
	if !decode(w, r, maxBody, &v) {
		return
	}
	team := r.PathValue("team")
	if v.Name == "" {
		v.Name = "admin of " + team
	}
	tok := store.NewSecret("tga_")
	err := s.store.CreateAdminToken(r.Context(), team, v.Name, tok, s.now())
	s.answer(w, r, http.StatusCreated, api.Token{Token: tok, Team: team}, err)
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Notifications(r.Context(), r.PathValue("team"))
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) getPrices(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Prices(r.Context(), r.PathValue("team"))
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) setPrices(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.SetPrices
	if !decode(w, r, maxBody, &v) {
		return
	}
	out, err := s.store.SetPrices(r.Context(), r.PathValue("team"), v)
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) listBudgets(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := s.store.Budgets(r.Context(), r.PathValue("team"), s.now())
	if out == nil {
		out = []charge.Budget{}
	}
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) setBudget(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.SetBudget
	if !decode(w, r, maxBody, &v) {
		return
	}
	out, err := s.store.SetBudget(r.Context(), r.PathValue("team"), v, s.now())
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) removeBudget(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	q := r.URL.Query()
	err := s.store.RemoveBudget(r.Context(), r.PathValue("team"), q.Get("user"), q.Get("product"), charge.Period(q.Get("period")), s.now())
	s.answer(w, r, http.StatusOK, map[string]bool{"removed": true}, err)
}

func (s *Server) extendBudget(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	var v api.ExtendBudget
	if !decode(w, r, maxBody, &v) {
		return
	}
	out, err := s.store.ExtendBudget(r.Context(), r.PathValue("team"), v, s.now())
	s.answer(w, r, http.StatusOK, out, err)
}
