package ledger

import (
	"net/http"
	"strconv"
	"time"

	"tollgate/ledger/advisor"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// advisorReport answers the advisor's recommendations over the last 90 days.
func (s *Server) advisorReport(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	f, ok := format(r)
	if !ok {
		fail(w, api.CodeBadRequest, "format: want json or csv")
		return
	}
	out, err := advisor.Load(r.Context(), s.store, r.PathValue("team"), s.now())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if f == "json" {
		reply(w, http.StatusOK, out)
		return
	}
	rows := [][]string{{"user", "product", "first_use", "observed_days", "days", "days_per_month", "tokens", "subscribed", "currency", "tokens_year", "subscription_year", "savings_year", "verdict", "text"}}
	money := func(m int64) string {
		if m == 0 {
			return ""
		}
		return strconv.FormatFloat(float64(m)/1000, 'f', 2, 64)
	}
	for _, a := range out {
		rows = append(rows, []string{a.User, a.Product, a.FirstUse.Format(time.DateOnly), itoa(a.ObservedDays), itoa(a.Days),
			strconv.FormatFloat(a.DaysPerMonth, 'f', 1, 64), itoa(a.Tokens), strconv.FormatBool(a.Subscribed), a.Currency,
			money(a.TokensYear), money(a.SubYear), money(a.Savings), a.Verdict, a.Text})
	}
	writeCSV(w, "advisor", rows)
}

// forecastReport answers when the team's pool runs out at the trailing 30-day rate.
func (s *Server) forecastReport(w http.ResponseWriter, r *http.Request, _ store.AdminToken) {
	out, err := advisor.LoadForecast(r.Context(), s.store, r.PathValue("team"), s.now())
	s.answer(w, r, http.StatusOK, out, err)
}
