package ledger

import (
	"cmp"
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
	"tollgate/cli"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

// Environment variables the admin verbs read when --url and --token are not given.
const (
	EnvURL   = "TOLLGATE_LEDGER_URL"
	EnvToken = "TOLLGATE_ADMIN_TOKEN"
)

// Command is 'tollgate ledger': serve, and the admin verbs over the admin API. Adding a verb
// is a func that returns its cli.Command, and a line here.
func Command() *cli.Command {
	return &cli.Command{
		Name:    "ledger",
		Summary: "the central ledger: serve it, and its admin verbs (teams, packs, users, reports)",
		Help:    "tollgate ledger: the central ledger of token pools, and its admin verbs.",
		Footer: fmt.Sprintf("Admin verbs reach the ledger at --url (or $%s, default http://127.0.0.1:7480)\n"+
			"with --token (or $%s). Each has --help; read verbs have --json.", EnvURL, EnvToken),
		Verbs: []*cli.Command{
			serveCommand(),
			group("team", "Teams: create, list, show.", teamCreate(), teamList(), teamShow()),
			group("pack", "Packs of tokens: buy, list, transfer.", packBuy(), packList(), packTransfer()),
			group("product", "The catalogue: add, list.", productAdd(), catalogueList()),
			group("user", "A team's users: assign, list.", userAssign(), userList()),
			group("subscription", "Users' subscriptions: add.", subscriptionAdd()),
			restrict(),
			settings(),
			group("price", "A team's money figures: show, set (its currency, token price, subscription prices).", priceVerbs()...),
			group("budget", "Caps on the tokens a team, a user or a product may start per day or month: set, list, remove, extend.", budgetVerbs()...),
			group("device", "A team's enrolled devices: list.", deviceList()),
			group("enroll-token", "Tokens that enroll devices: create.", enrollTokenCreate()),
			group("admin-token", "Admin tokens scoped to one team: create.", adminTokenCreate()),
			notifications(),
			group("report", "Reports: usage, tokens, refused, advisor, forecast.", reportUsage(), reportTokens(), reportRefused(), reportAdvisor(), reportForecast()),
			group("dead-letter", "Events the ledger refused: retry.", deadLetterRetry()),
		},
	}
}

// Main runs 'tollgate ledger ARGS': serve, or an admin verb over the admin API.
func Main(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	return cli.Run(ctx, Command(), "tollgate ledger", cli.Env{Stdout: stdout, Stderr: stderr}, args)
}

// group is a name space of verbs ("pack"); with no summary, the ledger's list shows its verbs.
func group(name, help string, verbs ...*cli.Command) *cli.Command {
	return &cli.Command{Name: name, Help: help, Verbs: verbs}
}

// call is an admin verb being run: its positional arguments, output and client.
type call struct {
	stdout io.Writer
	args   []string
	json   bool
	c      *client.Client
}

// admin makes cmd an admin verb: --url and --token besides its own flags, --json when read,
// and a client to the ledger when run is called.
func admin(cmd *cli.Command, read bool, run func(ctx context.Context, c *call) error) *cli.Command {
	var base, token string
	c := &call{}
	own := cmd.Flags
	cmd.Flags = func(fs *flag.FlagSet) {
		// The defaults are read when run: a secret never shows in --help.
		fs.StringVar(&base, "url", "", "the ledger's URL (default $"+EnvURL+", else http://127.0.0.1:7480)")
		fs.StringVar(&token, "token", "", "admin token (default $"+EnvToken+")")
		if own != nil {
			own(fs)
		}
		if read {
			fs.BoolVar(&c.json, "json", false, "print JSON")
		}
	}
	cmd.Run = func(ctx context.Context, e cli.Env, args []string) error {
		if base == "" {
			base = os.Getenv(EnvURL)
		}
		if base == "" {
			base = "http://127.0.0.1:7480"
		}
		if token == "" {
			token = os.Getenv(EnvToken)
		}
		if token == "" {
			return fmt.Errorf("no admin token: give --token or set %s (the super-admin token is in the ledger's data directory, file admin-token)", EnvToken)
		}
		c.stdout, c.args, c.c = e.Stdout, args, client.New(base, token, nil)
		if err := run(ctx, c); err != nil {
			verb := strings.TrimPrefix(e.Path, "tollgate ")
			if u := (*url.Error)(nil); errors.As(err, &u) {
				// The ledger was not reached: say so in words, and where to point it.
				return fmt.Errorf("%s: cannot reach the ledger at %s: %s (give --url or set %s)", verb, base, client.Explain(u.Err.Error()), EnvURL)
			}
			return fmt.Errorf("%s: %w", verb, err)
		}
		return nil
	}
	return cmd
}

// teamFlag declares --team; verbs that need it list it in Required.
func teamFlag(fs *flag.FlagSet, team *string) {
	fs.StringVar(team, "team", "", "the team (required)")
}

func teamPath(team, rest string) string {
	return "/v1/admin/teams/" + url.PathEscape(team) + rest
}

func teamCreate() *cli.Command {
	var name string
	return admin(&cli.Command{Name: "create", Usage: "ID [--name NAME]", Summary: "create a team (super-admin)",
		Args:  cli.Exactly(1, "takes one team id"),
		Flags: func(fs *flag.FlagSet) { fs.StringVar(&name, "name", "", "display name (default: the id)") },
	}, false, func(ctx context.Context, c *call) error {
		var t api.Team
		return c.show(ctx, "POST", "/v1/admin/teams", api.NewTeam{ID: c.args[0], Name: name}, &t, func(w io.Writer) {
			fmt.Fprintf(w, "created team %s\n", t.ID)
		})
	})
}

func teamList() *cli.Command {
	return admin(&cli.Command{Name: "list", Usage: "[--json]", Summary: "list teams and their balances", Args: cli.NoArgs},
		true, func(ctx context.Context, c *call) error {
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
		})
}

func teamShow() *cli.Command {
	return admin(&cli.Command{Name: "show", Usage: "ID [--json]", Summary: "show a team's settings and balance", Args: cli.Exactly(1, "takes one team id")},
		true, func(ctx context.Context, c *call) error {
			var t api.Team
			return c.show(ctx, "GET", "/v1/admin/teams/"+url.PathEscape(c.args[0]), nil, &t, func(w io.Writer) {
				fmt.Fprintf(w, "team\t%s (%s)\navailable\t%s\nunexpired\t%d\nheld\t%d\ndebt\t%d\nlow below\t%d\nproducts\t%s\nwebhook\t%s\n",
					t.ID, t.Name, t.Balance.Text(), t.Balance.Unexpired, t.Balance.Held, t.Balance.Debt, t.Balance.Limit, productList(t.Products), t.Webhook)
			})
		})
}

func packBuy() *cli.Command {
	var team string
	var tokens int64
	return admin(&cli.Command{Name: "buy", Usage: "--team T --tokens N", Summary: "buy a pack of tokens (at least 100) for a team",
		Args: cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.Int64Var(&tokens, "tokens", 0, "tokens to buy (at least 100)")
		},
	}, false, func(ctx context.Context, c *call) error {
		var p api.Pack
		return c.show(ctx, "POST", teamPath(team, "/packs"), api.BuyPack{Tokens: tokens}, &p, func(w io.Writer) {
			fmt.Fprintf(w, "bought pack %s: %d tokens for %s, usable until %s\n", p.ID, p.Tokens, p.Team, p.Expires.Format(time.DateOnly))
		})
	})
}

func packList() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "list", Usage: "--team T [--json]", Summary: "list a team's packs and their expiry",
		Args: cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var ps []api.Pack
		return c.show(ctx, "GET", teamPath(team, "/packs"), nil, &ps, func(w io.Writer) {
			fmt.Fprintln(w, "PACK\tTOKENS\tLEFT\tBOUGHT\tEXPIRES")
			for _, p := range ps {
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", p.ID, p.Tokens, p.Left, p.Bought.Format(time.DateOnly), p.Expires.Format(time.DateOnly))
			}
		})
	})
}

func packTransfer() *cli.Command {
	var team, pack, to string
	var tokens int64
	return admin(&cli.Command{Name: "transfer", Usage: "--team T --pack P --to T2 [--tokens N]", Summary: "move a whole pack to another team",
		Args: cli.NoArgs, Required: []string{"team", "pack", "to"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.StringVar(&pack, "pack", "", "the pack's id (required)")
			fs.StringVar(&to, "to", "", "the team that receives it (required)")
			fs.Int64Var(&tokens, "tokens", 0, "optional: the tokens left in the pack, as a check; a partial move is refused")
		},
	}, false, func(ctx context.Context, c *call) error {
		var p api.Pack
		return c.show(ctx, "POST", teamPath(team, "/packs/"+url.PathEscape(pack)+"/transfer"), api.Transfer{To: to, Tokens: tokens}, &p, func(w io.Writer) {
			fmt.Fprintf(w, "moved pack %s with %d tokens to %s\n", p.ID, p.Left, p.Team)
		})
	})
}

func productAdd() *cli.Command {
	var name string
	var rate int64
	return admin(&cli.Command{Name: "add", Usage: "ID --rate N [--name NAME]", Summary: "add a product to the catalogue, or change its rate (super-admin)",
		Args: cli.Exactly(1, "takes one product id"),
		Flags: func(fs *flag.FlagSet) {
			fs.Int64Var(&rate, "rate", 0, "daily rate in tokens (required)")
			fs.StringVar(&name, "name", "", "display name")
		},
	}, false, func(ctx context.Context, c *call) error {
		var p api.Product
		return c.show(ctx, "PUT", "/v1/admin/products/"+url.PathEscape(c.args[0]), api.Product{Name: name, Rate: rate}, &p, func(w io.Writer) {
			fmt.Fprintf(w, "product %s costs %d tokens a day\n", p.ID, p.Rate)
		})
	})
}

func catalogueList() *cli.Command {
	return admin(&cli.Command{Name: "list", Usage: "[--json]", Summary: "list the catalogue", Args: cli.NoArgs},
		true, func(ctx context.Context, c *call) error {
			var ps []api.Product
			return c.show(ctx, "GET", "/v1/admin/products", nil, &ps, func(w io.Writer) {
				fmt.Fprintln(w, "PRODUCT\tNAME\tRATE")
				for _, p := range ps {
					fmt.Fprintf(w, "%s\t%s\t%d\n", p.ID, p.Name, p.Rate)
				}
			})
		})
}

func userAssign() *cli.Command {
	var team, prods string
	var unassigned bool
	return admin(&cli.Command{Name: "assign", Usage: "USER --team T [--unassigned] [--products P,Q]", Summary: "put a user in a team, assigned to its token pool",
		Args: cli.Exactly(1, "takes one user"), Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.BoolVar(&unassigned, "unassigned", false, "in the team but not assigned to its token pool")
			fs.StringVar(&prods, "products", "all", "products the user may use: comma-separated ids, or all")
		},
	}, false, func(ctx context.Context, c *call) error {
		assigned := !unassigned
		var u api.User
		return c.show(ctx, "PUT", teamPath(team, "/users/"+url.PathEscape(c.args[0])), api.PutUser{Assigned: &assigned, Products: products(prods)}, &u, func(w io.Writer) {
			fmt.Fprintf(w, "user %s in %s: assigned %v, products %s\n", u.ID, u.Team, u.Assigned, productList(u.Products))
		})
	})
}

func userList() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "list", Usage: "--team T [--json]", Summary: "list a team's users and subscriptions",
		Args: cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var us []api.User
		return c.show(ctx, "GET", teamPath(team, "/users"), nil, &us, func(w io.Writer) {
			fmt.Fprintln(w, "USER\tASSIGNED\tPRODUCTS\tSUBSCRIPTIONS")
			for _, u := range us {
				var subs []string
				for _, s := range u.Subscriptions {
					subs = append(subs, s.Product+" from "+s.From.Format(time.DateOnly))
				}
				fmt.Fprintf(w, "%s\t%v\t%s\t%s\n", u.ID, u.Assigned, productList(u.Products), strings.Join(subs, ", "))
			}
		})
	})
}

func subscriptionAdd() *cli.Command {
	var team, product, from, until string
	return admin(&cli.Command{Name: "add", Usage: "USER --team T --product P --from DATE [--until DATE]", Summary: "record a user's subscription to a product",
		Args: cli.Exactly(1, "takes one user"), Required: []string{"team", "product", "from"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.StringVar(&product, "product", "", "the product (required)")
			fs.StringVar(&from, "from", "", "start: YYYY-MM-DD or RFC 3339 (required)")
			fs.StringVar(&until, "until", "", "end, exclusive (default: none)")
		},
	}, false, func(ctx context.Context, c *call) error {
		s := charge.Subscription{Product: product}
		var err error
		if s.From, err = parseTime(from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if until != "" {
			if s.Until, err = parseTime(until); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
		}
		var u api.User
		return c.show(ctx, "POST", teamPath(team, "/users/"+url.PathEscape(c.args[0])+"/subscriptions"), s, &u, func(w io.Writer) {
			fmt.Fprintf(w, "user %s now has %d subscriptions\n", u.ID, len(u.Subscriptions))
		})
	})
}

func restrict() *cli.Command {
	var team, prods string
	return admin(&cli.Command{Name: "restrict", Usage: "--team T --products P,Q|all", Summary: "set which products a team's tokens cover",
		Args: cli.NoArgs, Required: []string{"team", "products"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.StringVar(&prods, "products", "", "comma-separated product ids, or all (including products added later)")
		},
	}, false, func(ctx context.Context, c *call) error {
		var t api.Team
		return c.show(ctx, "PUT", teamPath(team, "/restrictions"), api.Restrictions{Products: products(prods)}, &t, func(w io.Writer) {
			fmt.Fprintf(w, "team %s's tokens cover %s\n", t.ID, productList(t.Products))
		})
	})
}

func settings() *cli.Command {
	var team string
	var threshold, thresholdPct cli.OptInt
	var webhook cli.OptString
	return admin(&cli.Command{Name: "settings", Usage: "--team T [--threshold N] [--threshold-percent P] [--webhook URL]",
		Summary: "set a team's low-balance threshold and notification webhook",
		Help:    "Sets a team's low-balance threshold and notification webhook; what is not given stays as it is.",
		Args:    cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.Var(&threshold, "threshold", "low balance below this many tokens (0: use the percent)")
			fs.Var(&thresholdPct, "threshold-percent", "low balance below this percent of the tokens bought in unexpired packs (0: 20)")
			fs.Var(&webhook, "webhook", "URL that notifications are POSTed to (empty: none)")
		},
	}, false, func(ctx context.Context, c *call) error {
		var s api.Settings
		if threshold.Given {
			s.ThresholdAbsolute = &threshold.Value
		}
		if thresholdPct.Given {
			s.ThresholdPercent = &thresholdPct.Value
		}
		if webhook.Given {
			s.Webhook = &webhook.Value
		}
		if s == (api.Settings{}) {
			return errors.New("nothing to change: give --threshold, --threshold-percent or --webhook")
		}
		var t api.Team
		return c.show(ctx, "PUT", teamPath(team, "/settings"), s, &t, func(w io.Writer) {
			fmt.Fprintf(w, "team %s: low below %d tokens, webhook %q\n", t.ID, t.Balance.Limit, t.Webhook)
			if t.WebhookSecret != "" {
				fmt.Fprintf(w, "webhook signing secret (shown once; receivers verify the %s header with it):\n%s\n", SignatureHeader, t.WebhookSecret)
			}
		})
	})
}

func deviceList() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "list", Usage: "--team T [--json]", Summary: "list a team's enrolled devices",
		Args: cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var ds []api.Device
		return c.show(ctx, "GET", teamPath(team, "/devices"), nil, &ds, func(w io.Writer) {
			fmt.Fprintln(w, "DEVICE\tNAME\tVERSION\tLAST SYNC\tOFFLINE FOR\tBACKLOG")
			for _, d := range ds {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, cmp.Or(d.Version, "not reported"), syncedAt(d), api.Ago(time.Duration(d.OfflineSeconds)*time.Second), d.BacklogText())
			}
		})
	})
}

func enrollTokenCreate() *cli.Command {
	var team, validFor string
	return admin(&cli.Command{Name: "create", Usage: "--team T [--valid-for DURATION]", Summary: "create a token that enrolls devices into a team",
		Args: cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.StringVar(&validFor, "valid-for", "", "how long it works, such as 720h (default: 30 days)")
		},
	}, false, func(ctx context.Context, c *call) error {
		var t api.Token
		return c.show(ctx, "POST", teamPath(team, "/enroll-tokens"), api.NewEnrollToken{ValidFor: validFor}, &t, func(w io.Writer) {
			fmt.Fprintf(w, "%s\n(enrolls devices into %s until %s; it is shown once)\n", t.Token, t.Team, t.Expires.Format(time.RFC3339))
		})
	})
}

func adminTokenCreate() *cli.Command {
	var team, name string
	return admin(&cli.Command{Name: "create", Usage: "--team T [--name WHO]", Summary: "create an admin token scoped to one team (super-admin)",
		Args: cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team); fs.StringVar(&name, "name", "", "who it is for") },
	}, false, func(ctx context.Context, c *call) error {
		var t api.Token
		return c.show(ctx, "POST", teamPath(team, "/admin-tokens"), api.NewAdminToken{Name: name}, &t, func(w io.Writer) {
			fmt.Fprintf(w, "%s\n(an admin token for team %s; it is shown once)\n", t.Token, t.Team)
		})
	})
}

func notifications() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "notifications", Usage: "--team T [--json]", Summary: "list a team's notifications and their delivery",
		Args: cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var ns []api.Notification
		return c.show(ctx, "GET", teamPath(team, "/notifications"), nil, &ns, func(w io.Writer) {
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
	})
}

// reportOpts are the flags of 'report usage' and 'report tokens'.
type reportOpts struct {
	team, from, to, section string
	csv, jsonl              bool
}

func (o *reportOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.team, "team", "", "the team (default: every team the token may see)")
	fs.StringVar(&o.from, "from", "", "start: YYYY-MM-DD or RFC 3339 (default: 30 days before --to)")
	fs.StringVar(&o.to, "to", "", "end, exclusive (default: now)")
	fs.BoolVar(&o.csv, "csv", false, "print CSV")
}

func reportUsage() *cli.Command {
	var o reportOpts
	return admin(&cli.Command{Name: "usage", Usage: "[--team T] [--from DATE] [--to DATE] [--json|--csv]",
		Summary: "sessions, charges and denials per day, user, product and device", Args: cli.NoArgs, Flags: o.flags,
	}, true, func(ctx context.Context, c *call) error { return c.report(ctx, "usage", o) })
}

func reportTokens() *cli.Command {
	var o reportOpts
	return admin(&cli.Command{Name: "tokens", Usage: "[--team T] [--from DATE] [--to DATE] [--section S] [--json|--csv|--jsonl]",
		Summary: "tokens per day, user and product; balance history; packs; expiring; refused charges", Args: cli.NoArgs,
		Flags: func(fs *flag.FlagSet) {
			o.flags(fs)
			fs.BoolVar(&o.jsonl, "jsonl", false, "print one section as JSON lines, one object a line, as the ledger reads them (default section: daily)")
			fs.StringVar(&o.section, "section", "", "only this part: daily, history, packs, expiring, refused or idle (default: all; with --csv, daily)")
		},
	}, true, func(ctx context.Context, c *call) error { return c.report(ctx, "tokens", o) })
}

func reportRefused() *cli.Command {
	var team string
	var all, asCSV bool
	return admin(&cli.Command{Name: "refused", Usage: "--team T [--all] [--json|--csv]",
		Summary: "events the ledger refused (the dead-letter): what, from which device, and why",
		Args:    cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.BoolVar(&all, "all", false, "also those re-sent successfully since")
			fs.BoolVar(&asCSV, "csv", false, "print CSV")
		},
	}, true, func(ctx context.Context, c *call) error {
		q := url.Values{}
		if all {
			q.Set("all", "1")
		}
		if asCSV {
			q.Set("format", "csv")
			b, err := c.c.Raw(ctx, "GET", teamPath(team, "/dead-letter")+"?"+q.Encode())
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(b)
			return err
		}
		var ls []api.DeadLetter
		return c.show(ctx, "GET", teamPath(team, "/dead-letter")+"?"+q.Encode(), nil, &ls, func(w io.Writer) {
			if len(ls) == 0 {
				fmt.Fprintf(w, "no refused events in team %s\n", team)
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
	})
}

func deadLetterRetry() *cli.Command {
	var team, id string
	return admin(&cli.Command{Name: "retry", Usage: "--team T [--id EVENT] [--json]",
		Summary: "send refused events again, once their cause is fixed (all of the team's, or --id)",
		Args:    cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.StringVar(&id, "id", "", "only this event (its EVENT in 'report refused')")
		},
	}, true, func(ctx context.Context, c *call) error {
		var out api.Retried
		return c.show(ctx, "POST", teamPath(team, "/dead-letter/retry"), retryRequest{ID: id}, &out, func(w io.Writer) {
			if len(out.Results) == 0 {
				fmt.Fprintf(w, "no refused events to send in team %s\n", team)
				return
			}
			for _, r := range out.Results {
				fmt.Fprintf(w, "%s\t%s\t%s\n", r.ID, r.Status, r.Message)
			}
		})
	})
}

func reportAdvisor() *cli.Command {
	var team string
	var asCSV bool
	return admin(&cli.Command{Name: "advisor", Usage: "--team T [--json|--csv]",
		Summary: "per user and product: keep on tokens, move to a subscription, or too early to tell, with the numbers",
		Args:    cli.NoArgs, Required: []string{"team"},
		Flags: func(fs *flag.FlagSet) {
			teamFlag(fs, &team)
			fs.BoolVar(&asCSV, "csv", false, "print CSV")
		},
	}, true, func(ctx context.Context, c *call) error {
		if asCSV {
			b, err := c.c.Raw(ctx, "GET", teamPath(team, "/reports/advisor?format=csv"))
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(b)
			return err
		}
		var as []api.Advice
		return c.show(ctx, "GET", teamPath(team, "/reports/advisor"), nil, &as, func(w io.Writer) {
			fmt.Fprintln(w, "USER\tPRODUCT\tDAYS/MONTH\tTOKENS (90 DAYS)\tADVICE")
			for _, a := range as {
				fmt.Fprintf(w, "%s\t%s\t%.1f\t%d\t%s\n", a.User, a.Product, a.DaysPerMonth, a.Tokens, a.Text)
			}
		})
	})
}

func reportForecast() *cli.Command {
	var team string
	return admin(&cli.Command{Name: "forecast", Usage: "--team T [--json]",
		Summary: "when the team's tokens run out at the last 30 days' rate, and more days of each product",
		Args:    cli.NoArgs, Required: []string{"team"}, Flags: func(fs *flag.FlagSet) { teamFlag(fs, &team) },
	}, true, func(ctx context.Context, c *call) error {
		var f api.Forecast
		return c.show(ctx, "GET", teamPath(team, "/reports/forecast"), nil, &f, func(w io.Writer) {
			fmt.Fprintf(w, "%s.\n", f.Explanation)
			for _, p := range f.Products {
				fmt.Fprintf(w, "%d more days of %s\n", p.Days, p.Name)
			}
		})
	})
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

// show calls the API and prints the answer: as JSON with --json, else through text.
func (c *call) show(ctx context.Context, method, path string, in, out any, text func(io.Writer)) error {
	if err := c.c.Do(ctx, method, path, in, out); err != nil {
		return err
	}
	if c.json || text == nil {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// syncedAt is when a device last synced, for the device table.
func syncedAt(d api.Device) string {
	if d.LastSync.IsZero() {
		return "never"
	}
	return d.LastSync.UTC().Format("2006-01-02 15:04 UTC")
}
