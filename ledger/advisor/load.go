package advisor

import (
	"context"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// Source is the part of the ledger's store the advisor reads: narrow queries that group
// in SQL, so that the advice for a team of hundreds reads one row per (user, product).
type Source interface {
	Team(ctx context.Context, id string, now time.Time) (api.Team, error)
	Products(ctx context.Context) ([]api.Product, error)
	Users(ctx context.Context, team string) ([]api.User, error)
	Packs(ctx context.Context, team string) ([]api.Pack, error)
	Prices(ctx context.Context, team string) (api.Prices, error)
	UseSummaries(ctx context.Context, team string, from, to time.Time) ([]api.UseSummary, error)
	DailyTokens(ctx context.Context, team string, from, to time.Time) ([]api.TokenDay, error)
}

// Report is the advice with what it was computed from, for a page that shows both.
type Report struct {
	Advice   []api.Advice
	Prices   api.Prices
	Products []api.Product
}

// Load reads a team's last 90 days and advises on them.
func Load(ctx context.Context, src Source, team string, now time.Time) ([]api.Advice, error) {
	r, err := LoadReport(ctx, src, team, now)
	return r.Advice, err
}

// LoadReport is Load with the prices and the catalogue it read.
func LoadReport(ctx context.Context, src Source, team string, now time.Time) (Report, error) {
	in := Uses{Now: now, Rates: map[string]int64{}, Subs: map[api.UseKey]bool{}}
	var r Report
	var err error
	if in.Uses, err = src.UseSummaries(ctx, team, now.Add(-Span), now.Add(time.Nanosecond)); err != nil {
		return r, err
	}
	if r.Prices, err = src.Prices(ctx, team); err != nil {
		return r, err
	}
	if r.Products, err = src.Products(ctx); err != nil {
		return r, err
	}
	for _, p := range r.Products {
		in.Rates[p.ID] = p.Rate
	}
	us, err := src.Users(ctx, team)
	if err != nil {
		return r, err
	}
	for _, u := range us {
		for _, s := range u.Subscriptions {
			if s.Active(now) {
				in.Subs[api.UseKey{User: u.ID, Product: s.Product}] = true
			}
		}
	}
	in.Prices = r.Prices
	r.Advice = Judge(in)
	return r, nil
}

// LoadForecast reads what a team's forecast needs and makes it.
func LoadForecast(ctx context.Context, src Source, team string, now time.Time) (api.Forecast, error) {
	f, _, err := LoadForecastPrices(ctx, src, team, now)
	return f, err
}

// LoadForecastPrices is LoadForecast with the prices it read.
func LoadForecastPrices(ctx context.Context, src Source, team string, now time.Time) (api.Forecast, api.Prices, error) {
	in := ForecastInput{Now: now}
	var err error
	if in.Team, err = src.Team(ctx, team, now); err != nil {
		return api.Forecast{}, in.Prices, err
	}
	if in.Daily, err = src.DailyTokens(ctx, team, now.Add(-30*charge.Day), now.Add(time.Nanosecond)); err != nil {
		return api.Forecast{}, in.Prices, err
	}
	if in.Packs, err = src.Packs(ctx, team); err != nil {
		return api.Forecast{}, in.Prices, err
	}
	if in.Products, err = src.Products(ctx); err != nil {
		return api.Forecast{}, in.Prices, err
	}
	if in.Prices, err = src.Prices(ctx, team); err != nil {
		return api.Forecast{}, in.Prices, err
	}
	return Forecast(in), in.Prices, nil
}
