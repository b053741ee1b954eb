package advisor

import (
	"context"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// Source is the part of the ledger's store the advisor reads.
type Source interface {
	Team(ctx context.Context, id string, now time.Time) (api.Team, error)
	Products(ctx context.Context) ([]api.Product, error)
	Users(ctx context.Context, team string) ([]api.User, error)
	Usage(ctx context.Context, team string, from, to time.Time) ([]api.UsageRow, error)
	Tokens(ctx context.Context, team string, from, to, now time.Time) (api.TokenReport, error)
	Prices(ctx context.Context, team string) (api.Prices, error)
	FirstUse(ctx context.Context, team string) (map[api.UseKey]time.Time, error)
}

// Load reads a team's last 90 days and advises on them.
func Load(ctx context.Context, src Source, team string, now time.Time) ([]api.Advice, error) {
	in := Input{Now: now, Rates: map[string]int64{}, Subs: map[api.UseKey]bool{}}
	var err error
	if in.Usage, err = src.Usage(ctx, team, now.Add(-Span), now.Add(time.Nanosecond)); err != nil {
		return nil, err
	}
	if in.First, err = src.FirstUse(ctx, team); err != nil {
		return nil, err
	}
	if in.Prices, err = src.Prices(ctx, team); err != nil {
		return nil, err
	}
	ps, err := src.Products(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		in.Rates[p.ID] = p.Rate
	}
	us, err := src.Users(ctx, team)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		for _, s := range u.Subscriptions {
			if s.Active(now) {
				in.Subs[api.UseKey{User: u.ID, Product: s.Product}] = true
			}
		}
	}
	return Advise(in), nil
}

// LoadForecast reads what a team's forecast needs and makes it.
func LoadForecast(ctx context.Context, src Source, team string, now time.Time) (api.Forecast, error) {
	in := ForecastInput{Now: now}
	var err error
	if in.Team, err = src.Team(ctx, team, now); err != nil {
		return api.Forecast{}, err
	}
	rep, err := src.Tokens(ctx, team, now.Add(-30*charge.Day), now.Add(time.Nanosecond), now)
	if err != nil {
		return api.Forecast{}, err
	}
	in.Daily, in.Packs = rep.Daily, rep.Packs
	if in.Products, err = src.Products(ctx); err != nil {
		return api.Forecast{}, err
	}
	if in.Prices, err = src.Prices(ctx, team); err != nil {
		return api.Forecast{}, err
	}
	return Forecast(in), nil
}
