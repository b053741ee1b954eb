package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

// Environment variables the admin verbs read when --url and --token are not given.
const (
	EnvURL   = "TOLLGATE_LEDGER_URL"
	EnvToken = "TOLLGATE_ADMIN_TOKEN"
)

// command is one verb of 'tollgate ledger'.
type command struct {
	name    string // "pack buy"
	args    string // positional arguments, for the usage line
	summary string
	flags   func(fs *flag.FlagSet, o *opts)
	run     func(ctx context.Context, c *call) error
	read    bool // has --json
}

// opts are the flags any command may define.
type opts struct {
	team, name, product, products, pack, to, from, until, until2, webhook, section, validFor string
	tokens, rate, threshold, thresholdPct                                                    int64
	unassigned, json, csv                                                                    bool
	id                                                                                       string
	all                                                                                      bool
	user, period                                                                             string // budget verbs
	day, month                                                                               int64  // budget verbs
}

// call is a command being run: its arguments, flags, output and client.
type call struct {
	stdout io.Writer
	args   []string
	o      opts
	c      *client.Client
}

func commands() []command {
	team := func(fs *flag.FlagSet, o *opts) { fs.StringVar(&o.team, "team", "", "the team (required)") }
	return []command{
		{name: "serve", summary: "serve the ledger's API", run: nil},
		{name: "team create", args: "ID", summary: "create a team (super-admin)",
			flags: func(fs *flag.FlagSet, o *opts) { fs.StringVar(&o.name, "name", "", "display name (default: the id)") },
			run: func(ctx context.Context, c *call) error {
				id, err := c.one("team id")
				if err != nil {
					return err
				}
				var t api.Team
				return c.show(ctx, "POST", "/v1/admin/teams", api.NewTeam{ID: id, Name: c.o.name}, &t, func(w io.Writer) {
					fmt.Fprintf(w, "created team %s\n", t.ID)
				})
			}},
		{name: "team list", summary: "list teams and their balances", read: true,
			run: func(ctx context.Context, c *call) error {
				var ts []api.Team
				return c.show(ctx, "GET", "/v1/admin/teams", nil, &ts, func(w io.Writer) {
					fmt.Fprintln(w, "TEAM\tAVAILABLE\tHELD\tDEBT\tLOW-AT\tWEBHOOK")
					for _, t := range ts {
						avail := fmt.Sprint(t.Balance.Available)
						if t.Balance.Available < 0 {
							avail = fmt.Sprintf("0 (%d short)", -t.Balance.Available)
						}
						fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", t.ID, avail, t.Balance.Held, t.Balance.Debt, t.Balance.Limit, t.Webhook)
					}
				})
			}},
		{name: "team show", args: "ID", summary: "show a team's settings and balance", read: true,
			run: func(ctx context.Context, c *call) error {
				id, err := c.one("team id")
				if err != nil {
					return err
				}
				var t api.Team
				return c.show(ctx, "GET", "/v1/admin/teams/"+url.PathEscape(id), nil, &t, func(w io.Writer) {
					fmt.Fprintf(w, "team\t%s (%s)\navailable\t%s\nunexpired\t%d\nheld\t%d\ndebt\t%d\nlow below\t%d\nproducts\t%s\nwebhook\t%s\n",
						t.ID, t.Name, t.Balance.Text(), t.Balance.Unexpired, t.Balance.Held, t.Balance.Debt, t.Balance.Limit, productList(t.Products), t.Webhook)
				})
			}},
		{name: "pack buy", summary: "buy a pack of tokens (at least 100) for a team",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.Int64Var(&o.tokens, "tokens", 0, "tokens to buy (at least 100)")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var p api.Pack
				return c.show(ctx, "POST", c.teamPath("/packs"), api.BuyPack{Tokens: c.o.tokens}, &p, func(w io.Writer) {
					fmt.Fprintf(w, "bought pack %s: %d tokens for %s, usable until %s\n", p.ID, p.Tokens, p.Team, p.Expires.Format(time.DateOnly))
				})
			}},
		{name: "pack list", summary: "list a team's packs and their expiry", read: true, flags: team,
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var ps []api.Pack
				return c.show(ctx, "GET", c.teamPath("/packs"), nil, &ps, func(w io.Writer) {
					fmt.Fprintln(w, "PACK\tTOKENS\tLEFT\tBOUGHT\tEXPIRES")
					for _, p := range ps {
						fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", p.ID, p.Tokens, p.Left, p.Bought.Format(time.DateOnly), p.Expires.Format(time.DateOnly))
					}
				})
			}},
		{name: "pack transfer", summary: "move a whole pack to another team",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.StringVar(&o.pack, "pack", "", "the pack's id (required)")
				fs.StringVar(&o.to, "to", "", "the team that receives it (required)")
				fs.Int64Var(&o.tokens, "tokens", 0, "optional: the tokens left in the pack, as a check; a partial move is refused")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team", "pack", "to"); err != nil {
					return err
				}
				var p api.Pack
				return c.show(ctx, "POST", c.teamPath("/packs/"+url.PathEscape(c.o.pack)+"/transfer"), api.Transfer{To: c.o.to, Tokens: c.o.tokens}, &p, func(w io.Writer) {
					fmt.Fprintf(w, "moved pack %s with %d tokens to %s\n", p.ID, p.Left, p.Team)
				})
			}},
		{name: "product add", args: "ID", summary: "add a product to the catalogue, or change its rate (super-admin)",
			flags: func(fs *flag.FlagSet, o *opts) {
				fs.Int64Var(&o.rate, "rate", 0, "daily rate in tokens (required)")
				fs.StringVar(&o.name, "name", "", "display name")
			},
			run: func(ctx context.Context, c *call) error {
				id, err := c.one("product id")
				if err != nil {
					return err
				}
				var p api.Product
				return c.show(ctx, "PUT", "/v1/admin/products/"+url.PathEscape(id), api.Product{Name: c.o.name, Rate: c.o.rate}, &p, func(w io.Writer) {
					fmt.Fprintf(w, "product %s costs %d tokens a day\n", p.ID, p.Rate)
				})
			}},
		{name: "product list", summary: "list the catalogue", read: true,
			run: func(ctx context.Context, c *call) error {
				var ps []api.Product
				return c.show(ctx, "GET", "/v1/admin/products", nil, &ps, func(w io.Writer) {
					fmt.Fprintln(w, "PRODUCT\tNAME\tRATE")
					for _, p := range ps {
						fmt.Fprintf(w, "%s\t%s\t%d\n", p.ID, p.Name, p.Rate)
					}
				})
			}},
		{name: "user assign", args: "USER", summary: "put a user in a team, assigned to its token pool",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.BoolVar(&o.unassigned, "unassigned", false, "in the team but not assigned to its token pool")
				fs.StringVar(&o.products, "products", "all", "products the user may use: comma-separated ids, or all")
			},
			run: func(ctx context.Context, c *call) error {
				user, err := c.one("user")
				if err != nil {
					return err
				}
				if err := c.need("team"); err != nil {
					return err
				}
				assigned := !c.o.unassigned
				var u api.User
				return c.show(ctx, "PUT", c.teamPath("/users/"+url.PathEscape(user)), api.PutUser{Assigned: &assigned, Products: products(c.o.products)}, &u, func(w io.Writer) {
					fmt.Fprintf(w, "user %s in %s: assigned %v, products %s\n", u.ID, u.Team, u.Assigned, productList(u.Products))
				})
			}},
		{name: "user list", summary: "list a team's users and subscriptions", read: true, flags: team,
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var us []api.User
				return c.show(ctx, "GET", c.teamPath("/users"), nil, &us, func(w io.Writer) {
					fmt.Fprintln(w, "USER\tASSIGNED\tPRODUCTS\tSUBSCRIPTIONS")
					for _, u := range us {
						var subs []string
						for _, s := range u.Subscriptions {
							subs = append(subs, s.Product+" from "+s.From.Format(time.DateOnly))
						}
						fmt.Fprintf(w, "%s\t%v\t%s\t%s\n", u.ID, u.Assigned, productList(u.Products), strings.Join(subs, ", "))
					}
				})
			}},
		{name: "subscription add", args: "USER", summary: "record a user's subscription to a product",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.StringVar(&o.product, "product", "", "the product (required)")
				fs.StringVar(&o.from, "from", "", "start: YYYY-MM-DD or RFC 3339 (required)")
				fs.StringVar(&o.until, "until", "", "end, exclusive (default: none)")
			},
			run: func(ctx context.Context, c *call) error {
				user, err := c.one("user")
				if err != nil {
					return err
				}
				if err := c.need("team", "product", "from"); err != nil {
					return err
				}
				s := charge.Subscription{Product: c.o.product}
				if s.From, err = parseTime(c.o.from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				if c.o.until != "" {
					if s.Until, err = parseTime(c.o.until); err != nil {
						return fmt.Errorf("--until: %w", err)
					}
				}
				var u api.User
				return c.show(ctx, "POST", c.teamPath("/users/"+url.PathEscape(user)+"/subscriptions"), s, &u, func(w io.Writer) {
					fmt.Fprintf(w, "user %s now has %d subscriptions\n", u.ID, len(u.Subscriptions))
				})
			}},
		{name: "restrict", summary: "set which products a team's tokens cover",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.StringVar(&o.products, "products", "", "comma-separated product ids, or all (including products added later)")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team", "products"); err != nil {
					return err
				}
				var t api.Team
				return c.show(ctx, "PUT", c.teamPath("/restrictions"), api.Restrictions{Products: products(c.o.products)}, &t, func(w io.Writer) {
					fmt.Fprintf(w, "team %s's tokens cover %s\n", t.ID, productList(t.Products))
				})
			}},
		{name: "settings", summary: "set a team's low-balance threshold and notification webhook",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.Int64Var(&o.threshold, "threshold", -1, "low balance below this many tokens (0: use the percent)")
				fs.Int64Var(&o.thresholdPct, "threshold-percent", -1, "low balance below this percent of the tokens bought in unexpired packs (0: 20)")
				fs.StringVar(&o.webhook, "webhook", "\x00", "URL that notifications are POSTed to (empty: none)")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var s api.Settings
				if c.o.threshold >= 0 {
					s.ThresholdAbsolute = &c.o.threshold
				}
				if c.o.thresholdPct >= 0 {
					s.ThresholdPercent = &c.o.thresholdPct
				}
				if c.o.webhook != "\x00" {
					s.Webhook = &c.o.webhook
				}
				if s == (api.Settings{}) {
					return errors.New("nothing to change: give --threshold, --threshold-percent or --webhook")
				}
				var t api.Team
				return c.show(ctx, "PUT", c.teamPath("/settings"), s, &t, func(w io.Writer) {
					fmt.Fprintf(w, "team %s: low below %d tokens, webhook %q\n", t.ID, t.Balance.Limit, t.Webhook)
					if t.WebhookSecret != "" {
						fmt.Fprintf(w, "webhook signing secret (shown once; receivers verify the %s header with it):\n%s\n", SignatureHeader, t.WebhookSecret)
					}
				})
			}},
		{name: "budget set", summary: "cap the tokens a team, or one --user or --product of it, may start per UTC day or month",
			flags: func(fs *flag.FlagSet, o *opts) { budgetFlags(fs, o); budgetCaps(fs, o) },
			run: func(ctx context.Context, c *call) error {
				b := api.SetBudget{User: c.o.user, Product: c.o.product, Period: charge.PerDay, Tokens: c.o.day}
				if (c.o.day < 0) == (c.o.month < 0) {
					return errors.New("give one of --day N or --month N")
				} else if c.o.month >= 0 {
					b.Period, b.Tokens = charge.PerMonth, c.o.month
				}
				var out charge.Budget
				return c.budget(ctx, "PUT", "", b, &out, func(w io.Writer) {
					fmt.Fprintf(w, "%s: at most %d tokens a %s (%d used)\n", out.Scope(), out.Tokens, out.Period, out.Used)
				})
			}},
		{name: "budget list", summary: "list a team's caps and what is used of them", read: true, flags: team,
			run: func(ctx context.Context, c *call) error {
				var bs []charge.Budget
				return c.budget(ctx, "GET", "", nil, &bs, func(w io.Writer) {
					fmt.Fprintln(w, "CAP ON\tPERIOD\tTOKENS\tEXTRA\tUSED")
					for _, b := range bs {
						fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\n", b.Scope(), b.Period, b.Tokens, extraText(b), b.Used)
					}
				})
			}},
		{name: "budget remove", summary: "remove a cap",
			flags: func(fs *flag.FlagSet, o *opts) {
				budgetFlags(fs, o)
				fs.StringVar(&o.period, "period", "", "day or month (required)")
			},
			run: func(ctx context.Context, c *call) error {
				q := url.Values{"user": {c.o.user}, "product": {c.o.product}, "period": {c.o.period}}
				return c.budget(ctx, "DELETE", "?"+q.Encode(), nil, nil, func(w io.Writer) { fmt.Fprintln(w, "removed") })
			}},
		{name: "budget extend", summary: "raise a scope's caps by --tokens until --until, once",
			flags: func(fs *flag.FlagSet, o *opts) {
				budgetFlags(fs, o)
				fs.Int64Var(&o.tokens, "tokens", 0, "extra tokens (required)")
				fs.StringVar(&o.until, "until", "", "when the extension ends, RFC 3339 or YYYY-MM-DD (required)")
			},
			run: func(ctx context.Context, c *call) error {
				until, err := parseTime(c.o.until)
				if err != nil {
					return fmt.Errorf("--until: %w", err)
				}
				var bs []charge.Budget
				return c.budget(ctx, "POST", "/extension", api.ExtendBudget{User: c.o.user, Product: c.o.product, Tokens: c.o.tokens, Until: until}, &bs, func(w io.Writer) {
					for _, b := range bs {
						fmt.Fprintf(w, "%s: %d tokens a %s until %s, then %d\n", b.Scope(), b.Limit(b.ExtraUntil.Add(-1)), b.Period, b.ExtraUntil.Format(time.RFC3339), b.Tokens)
					}
				})
			}},
		{name: "device list", summary: "list a team's enrolled devices", read: true, flags: team,
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var ds []api.Device
				return c.show(ctx, "GET", c.teamPath("/devices"), nil, &ds, func(w io.Writer) {
					fmt.Fprintln(w, "DEVICE\tNAME\tENROLLED\tLAST SEEN")
					for _, d := range ds {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Enrolled.Format(time.RFC3339), d.LastSeen.Format(time.RFC3339))
					}
				})
			}},
		{name: "enroll-token create", summary: "create a token that enrolls devices into a team",
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.StringVar(&o.validFor, "valid-for", "", "how long it works, such as 720h (default: 30 days)")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var t api.Token
				return c.show(ctx, "POST", c.teamPath("/enroll-tokens"), api.NewEnrollToken{ValidFor: c.o.validFor}, &t, func(w io.Writer) {
					fmt.Fprintf(w, "%s\n(enrolls devices into %s until %s; it is shown once)\n", t.Token, t.Team, t.Expires.Format(time.RFC3339))
				})
			}},
		{name: "admin-token create", summary: "create an admin token scoped to one team (super-admin)",
			flags: func(fs *flag.FlagSet, o *opts) { team(fs, o); fs.StringVar(&o.name, "name", "", "who it is for") },
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var t api.Token
				return c.show(ctx, "POST", c.teamPath("/admin-tokens"), api.NewAdminToken{Name: c.o.name}, &t, func(w io.Writer) {
					fmt.Fprintf(w, "%s\n(an admin token for team %s; it is shown once)\n", t.Token, t.Team)
				})
			}},
		{name: "notifications", summary: "list a team's notifications and their delivery", read: true, flags: team,
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var ns []api.Notification
				return c.show(ctx, "GET", c.teamPath("/notifications"), nil, &ns, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tKIND\tCREATED\tATTEMPTS\tDELIVERED\tLAST ERROR")
					for _, n := range ns {
						d := "no"
						if !n.Delivered.IsZero() {
							d = n.Delivered.Format(time.RFC3339)
						} else if n.GaveUp {
							d = "gave up"
						}
						fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", n.ID, n.Kind, n.Created.Format(time.RFC3339), n.Attempts, d, n.LastError)
					}
				})
			}},
		{name: "report usage", summary: "sessions, charges and denials per day, user, product and device", read: true,
			flags: reportFlags(func(fs *flag.FlagSet, o *opts) {
				fs.StringVar(&o.team, "team", "", "the team (default: every team the token may see)")
			}),
			run: func(ctx context.Context, c *call) error { return c.report(ctx, "usage") }},
		{name: "report tokens", summary: "tokens per day, user and product; balance history; packs; expiring; refused charges", read: true,
			flags: reportFlags(func(fs *flag.FlagSet, o *opts) {
				fs.StringVar(&o.team, "team", "", "the team (default: every team the token may see)")
				fs.StringVar(&o.section, "section", "", "only this part: daily, history, packs, expiring or refused (default: all; with --csv, daily)")
			}),
			run: func(ctx context.Context, c *call) error { return c.report(ctx, "tokens") }},
		{name: "report refused", summary: "events the ledger refused (the dead-letter): what, from which device, and why", read: true,
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.BoolVar(&o.all, "all", false, "also those re-sent successfully since")
				fs.BoolVar(&o.csv, "csv", false, "print CSV")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				q := url.Values{}
				if c.o.all {
					q.Set("all", "1")
				}
				if c.o.csv {
					q.Set("format", "csv")
					b, err := c.c.Raw(ctx, "GET", c.teamPath("/dead-letter")+"?"+q.Encode())
					if err != nil {
						return err
					}
					_, err = c.stdout.Write(b)
					return err
				}
				var ls []api.DeadLetter
				return c.show(ctx, "GET", c.teamPath("/dead-letter")+"?"+q.Encode(), nil, &ls, func(w io.Writer) {
					if len(ls) == 0 {
						fmt.Fprintf(w, "no refused events in team %s\n", c.o.team)
						return
					}
					fmt.Fprintln(w, "REFUSED\tDEVICE\tEVENT\tKIND\tUSER\tPRODUCT\tTOKENS\tTRIES\tRESOLVED\tWHY")
					for _, l := range ls {
						res := "no"
						if !l.Resolved.IsZero() {
							res = l.Resolution
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", l.LastRefused.Format(time.RFC3339), l.Device, l.ID, l.Kind, l.User, l.Product, l.Tokens, l.Attempts, res, l.Message)
					}
				})
			}},
		{name: "dead-letter retry", summary: "send refused events again, once their cause is fixed (all of the team's, or --id)", read: true,
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.StringVar(&o.id, "id", "", "only this event (its EVENT in 'report refused')")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var out api.Retried
				return c.show(ctx, "POST", c.teamPath("/dead-letter/retry"), retryRequest{ID: c.o.id}, &out, func(w io.Writer) {
					if len(out.Results) == 0 {
						fmt.Fprintf(w, "no refused events to send in team %s\n", c.o.team)
						return
					}
					for _, r := range out.Results {
						fmt.Fprintf(w, "%s\t%s\t%s\n", r.ID, r.Status, r.Message)
					}
				})
			}},
		{name: "report advisor", summary: "per user and product: keep on tokens, move to a subscription, or too early to tell, with the numbers", read: true,
			flags: func(fs *flag.FlagSet, o *opts) {
				team(fs, o)
				fs.BoolVar(&o.csv, "csv", false, "print CSV")
			},
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				if c.o.csv {
					b, err := c.c.Raw(ctx, "GET", c.teamPath("/reports/advisor?format=csv"))
					if err != nil {
						return err
					}
					_, err = c.stdout.Write(b)
					return err
				}
				var as []api.Advice
				return c.show(ctx, "GET", c.teamPath("/reports/advisor"), nil, &as, func(w io.Writer) {
					fmt.Fprintln(w, "USER\tPRODUCT\tDAYS/MONTH\tTOKENS (90 DAYS)\tADVICE")
					for _, a := range as {
						fmt.Fprintf(w, "%s\t%s\t%.1f\t%d\t%s\n", a.User, a.Product, a.DaysPerMonth, a.Tokens, a.Text)
					}
				})
			}},
		{name: "report forecast", summary: "when the team's tokens run out at the last 30 days' rate, and more days of each product", read: true, flags: team,
			run: func(ctx context.Context, c *call) error {
				if err := c.need("team"); err != nil {
					return err
				}
				var f api.Forecast
				return c.show(ctx, "GET", c.teamPath("/reports/forecast"), nil, &f, func(w io.Writer) {
					fmt.Fprintf(w, "%s.\n", f.Explanation)
					for _, p := range f.Products {
						fmt.Fprintf(w, "%d more days of %s\n", p.Days, p.Name)
					}
				})
			}},
	}
}

func reportFlags(more func(fs *flag.FlagSet, o *opts)) func(fs *flag.FlagSet, o *opts) {
	return func(fs *flag.FlagSet, o *opts) {
		more(fs, o)
		fs.StringVar(&o.from, "from", "", "start: YYYY-MM-DD or RFC 3339 (default: 30 days before --to)")
		fs.StringVar(&o.until2, "to", "", "end, exclusive (default: now)")
		fs.BoolVar(&o.csv, "csv", false, "print CSV")
	}
}

func products(s string) charge.Products {
	if s == "" || s == "all" || s == "*" {
		return nil
	}
	var out charge.Products
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func productList(p charge.Products) string {
	if len(p) == 0 {
		return "all"
	}
	return strings.Join(p, ",")
}

func (c *call) teamPath(rest string) string {
	return "/v1/admin/teams/" + url.PathEscape(c.o.team) + rest
}

func (c *call) one(what string) (string, error) {
	if len(c.args) != 1 {
		return "", fmt.Errorf("give exactly one %s (got %d arguments)", what, len(c.args))
	}
	return c.args[0], nil
}

func (c *call) need(flags ...string) error {
	values := map[string]string{"team": c.o.team, "pack": c.o.pack, "to": c.o.to, "product": c.o.product, "from": c.o.from, "products": c.o.products}
	for _, f := range flags {
		if values[f] == "" {
			return fmt.Errorf("--%s is required", f)
		}
	}
	return nil
}

// show calls the API and prints the answer: as JSON with --json, else through text.
func (c *call) show(ctx context.Context, method, path string, in, out any, text func(io.Writer)) error {
	if err := c.c.Do(ctx, method, path, in, out); err != nil {
		return err
	}
	if c.o.json || text == nil {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// Main runs 'tollgate ledger ARGS': serve, or an admin verb over the admin API.
func Main(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	if args[0] == "serve" {
		return serve(ctx, stdout, stderr, args[1:])
	}
	for _, cmd := range commands() {
		words := strings.Fields(cmd.name)
		if len(args) < len(words) || strings.Join(args[:len(words)], " ") != cmd.name {
			continue
		}
		return cmd.exec(ctx, stdout, stderr, args[len(words):])
	}
	return fmt.Errorf("unknown ledger command %q; run 'tollgate ledger --help' for the list", strings.Join(args, " "))
}

func usage(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tollgate ledger: the central ledger of token pools, and its admin verbs.\n\nUsage:\n  tollgate ledger serve [--db URL] [--listen ADDR] [--data DIR] [--tls-cert F --tls-key F]")
	for _, c := range commands()[1:] {
		fmt.Fprintf(tw, "  tollgate ledger %s %s\t%s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(tw, "\nAdmin verbs reach the ledger at --url (or $%s, default http://127.0.0.1:7480)\nwith --token (or $%s). Each has --help; read verbs have --json.\n", EnvURL, EnvToken)
	tw.Flush()
}

func (cmd command) exec(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	c := &call{stdout: stdout}
	fs := flag.NewFlagSet("tollgate ledger "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := os.Getenv(EnvURL)
	if base == "" {
		base = "http://127.0.0.1:7480"
	}
	fs.StringVar(&base, "url", base, "the ledger's URL ($"+EnvURL+")")
	// The default is read after parsing: a secret never shows in --help.
	token := fs.String("token", "", "admin token (default $"+EnvToken+")")
	if cmd.flags != nil {
		cmd.flags(fs, &c.o)
	}
	if cmd.read {
		fs.BoolVar(&c.o.json, "json", false, "print JSON")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tollgate ledger %s %s [flags]\n\n%s.\n\nFlags:\n", cmd.name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w; run 'tollgate ledger %s --help'", err, cmd.name)
	}
	if *token == "" {
		*token = os.Getenv(EnvToken)
	}
	if *token == "" {
		return fmt.Errorf("no admin token: give --token or set %s (the super-admin token is in the ledger's data directory, file admin-token)", EnvToken)
	}
	c.args = pos
	c.c = client.New(base, *token, nil)
	if err := cmd.run(ctx, c); err != nil {
		return fmt.Errorf("ledger %s: %w", cmd.name, err)
	}
	return nil
}

// parseFlags parses flags wherever they are among the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func budgetFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.team, "team", "", "the team (required)")
	fs.StringVar(&o.user, "user", "", "cap one user of the team")
	fs.StringVar(&o.product, "product", "", "cap one product for the team")
}

func budgetCaps(fs *flag.FlagSet, o *opts) {
	fs.Int64Var(&o.day, "day", -1, "tokens per UTC day")
	fs.Int64Var(&o.month, "month", -1, "tokens per UTC calendar month")
}

// budget calls the team's budget API after checking --team.
func (c *call) budget(ctx context.Context, method, rest string, in, out any, text func(io.Writer)) error {
	if err := c.need("team"); err != nil {
		return err
	}
	return c.show(ctx, method, c.teamPath("/budgets"+rest), in, out, text)
}

func extraText(b charge.Budget) string {
	if b.Extra == 0 {
		return "-"
	}
	return fmt.Sprintf("+%d until %s", b.Extra, b.ExtraUntil.Format(time.RFC3339))
}
