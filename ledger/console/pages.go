package console

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tollgate/charge"
	"tollgate/ledger/advisor"
	"tollgate/ledger/api"
)

// home is the sign-in page, a team admin's balance, or the super-admin's summary.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s := c.session(r)
	if s == nil {
		c.render(w, r, "signin", nil, view{Title: "Sign in"})
		return
	}
	if s.admin.Team != "" {
		http.Redirect(w, r, Prefix+"t/"+url.PathEscape(s.admin.Team)+"/balance", http.StatusSeeOther)
		return
	}
	ts, err := c.store.Teams(r.Context(), "", c.now())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var total api.Balance
	for _, t := range ts {
		total.Available += t.Balance.Available
		total.Held += t.Balance.Held
		total.Debt += t.Balance.Debt
		total.Unexpired += t.Balance.Unexpired
	}
	c.render(w, r, "summary", s, view{Title: "All teams", Data: struct {
		Teams []api.Team
		Total api.Balance
	}{ts, total}})
}

func (c *Console) balance(w http.ResponseWriter, r *http.Request, s *session, team string) {
	now := c.now()
	t, err := c.store.Team(r.Context(), team, now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	from := now.Add(-90 * charge.Day)
	rep, err := c.store.BalanceHistory(r.Context(), team, from, now.Add(time.Nanosecond), now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	prices, err := c.store.Prices(r.Context(), team)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	// The balance at the end of each day, carried over days without movements.
	change := make(map[string]int64, len(rep.Days))
	for _, d := range rep.Days {
		change[d.Day] = d.Change
	}
	var days []string
	var values []int64
	bal := rep.Opening
	for d := from.Truncate(charge.Day); !d.After(now); d = d.Add(charge.Day) {
		day := d.Format(time.DateOnly)
		bal += change[day]
		days = append(days, day)
		values = append(values, bal)
	}
	var expiring int64
	for _, p := range rep.Expiring {
		expiring += p.Left
	}
	type point struct {
		Day     string
		Balance int64
	}
	var pts []point
	for i := len(days) - 1; i >= 0; i-- {
		pts = append(pts, point{days[i], values[i]})
	}
	live := slices.DeleteFunc(slices.Clone(rep.Packs), func(p api.Pack) bool { return !p.Expires.After(now) })
	c.render(w, r, "balance", s, view{Title: "Balance", Team: team, Data: struct {
		T         api.Team
		Packs     []api.Pack
		Expiring  []api.Pack
		ExpTokens int64
		Chart     chart
		Points    []point
		Prices    api.Prices
		Value     int64
	}{t, live, rep.Expiring, expiring,
		line("burndown", "Balance over the last 90 days", "Tokens in the team's packs less debt at the end of each day, from "+days[0]+" to "+days[len(days)-1]+".", days, values),
		pts, prices, t.Balance.Available * prices.TokenMilli}})
}

// filter is the usage page's query.
type filter struct {
	From, To, User, Product, Device string
	from, to                        time.Time // [from, to)
}

func (c *Console) filter(r *http.Request) (filter, string) {
	q := r.URL.Query()
	today := c.now().Truncate(charge.Day)
	f := filter{From: q.Get("from"), To: q.Get("to"), User: q.Get("user"), Product: q.Get("product"), Device: q.Get("device")}
	if f.To == "" {
		f.To = today.Format(time.DateOnly)
	}
	to, err := time.Parse(time.DateOnly, f.To)
	if err != nil {
		return f, "The end date " + f.To + " is not a date: use YYYY-MM-DD."
	}
	if f.From == "" {
		f.From = to.Add(-29 * charge.Day).Format(time.DateOnly)
	}
	from, err := time.Parse(time.DateOnly, f.From)
	if err != nil {
		return f, "The start date " + f.From + " is not a date: use YYYY-MM-DD."
	}
	f.from, f.to = from, to.Add(charge.Day)
	if !f.from.Before(f.to) {
		return f, "The start date is after the end date."
	}
	if f.to.Sub(f.from) > 400*charge.Day {
		return f, "Give at most 400 days at a time."
	}
	return f, ""
}

func (f filter) match(u api.UsageRow) bool {
	return (f.User == "" || u.User == f.User) && (f.Product == "" || u.Product == f.Product) && (f.Device == "" || u.Device == f.Device)
}

func (f filter) query() url.Values {
	q := url.Values{"from": {f.From}, "to": {f.To}}
	for k, v := range map[string]string{"user": f.User, "product": f.Product, "device": f.Device} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// sum is one line of a usage total, with its cost.
type sum struct {
	api.UsageSum
	Cost int64
}

func sums(in []api.UsageSum, price int64) []sum {
	out := make([]sum, 0, len(in))
	for _, s := range in {
		out = append(out, sum{s, s.Tokens * price})
	}
	slices.SortFunc(out, func(a, b sum) int { return cmp.Or(cmp.Compare(b.Tokens, a.Tokens), cmp.Compare(a.Name, b.Name)) })
	return out
}

// usageRows reads the usage rows of the span the request's filter names, for the CSV; a
// bad filter or a store error is answered, and ok is false.
func (c *Console) usageRows(w http.ResponseWriter, r *http.Request, s *session, team string) (f filter, rows []api.UsageRow, ok bool) {
	f, bad := c.filter(r)
	if bad != "" {
		c.problem(w, r, s, http.StatusBadRequest, bad)
		return f, nil, false
	}
	rows, err := c.store.Usage(r.Context(), team, f.from, f.to)
	if err != nil {
		c.fail(w, r, s, err)
		return f, nil, false
	}
	return f, rows, true
}

// usage shows the span's totals, which the ledger groups in SQL: a year's page reads a
// line per day and product, user, product and tag, not the year's rows (its CSV does).
func (c *Console) usage(w http.ResponseWriter, r *http.Request, s *session, team string) {
	f, bad := c.filter(r)
	if bad != "" {
		c.problem(w, r, s, http.StatusBadRequest, bad)
		return
	}
	t, err := c.store.UsageTotals(r.Context(), team, f.from, f.to, api.UsageFilter{User: f.User, Product: f.Product, Device: f.Device})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	prices, err := c.store.Prices(r.Context(), team)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	idleDays, err := c.store.Idle(r.Context(), team, f.from, f.to)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var idle api.IdleDay // products nobody used: what their renewals cost, what closing them saved
	for _, d := range idleDays {
		if (f.User == "" || d.User == f.User) && (f.Product == "" || d.Product == f.Product) {
			idle.IdleRenewals, idle.IdleTokens = idle.IdleRenewals+d.IdleRenewals, idle.IdleTokens+d.IdleTokens
			idle.IdleCloses, idle.SavedTokens = idle.IdleCloses+d.IdleCloses, idle.SavedTokens+d.SavedTokens
		}
	}
	byDay := map[string]map[string]int64{}
	for _, d := range t.Days {
		if byDay[d.Day] == nil {
			byDay[d.Day] = map[string]int64{}
		}
		byDay[d.Day][d.Product] += d.Tokens
	}
	total := sum{t.Total, t.Total.Tokens * prices.TokenMilli}
	pcols := make([]string, 0, len(t.PerProduct))
	for _, p := range t.PerProduct {
		pcols = append(pcols, p.Name)
	}
	var xs []string
	ss := make([]series, len(pcols))
	for j, p := range pcols {
		ss[j].Name = p
	}
	type dayRow struct {
		Day    string
		Tokens []int64
		Total  int64
	}
	var table []dayRow
	for d := f.from; d.Before(f.to); d = d.Add(charge.Day) {
		day := d.Format(time.DateOnly)
		xs = append(xs, day)
		row := dayRow{Day: day}
		for j, p := range pcols {
			v := byDay[day][p]
			ss[j].Values = append(ss[j].Values, v)
			row.Tokens = append(row.Tokens, v)
			row.Total += v
		}
		if row.Total > 0 {
			table = append(table, row)
		}
	}
	c.render(w, r, "usage", s, view{Title: "Usage", Team: team, Data: struct {
		F                        filter
		Users, Products, Devices []string
		Chart                    chart
		Cols                     []string
		Days                     []dayRow
		PerUser, PerProduct      []sum
		PerTag                   []sum
		Total                    sum
		Prices                   api.Prices
		CSV                      string
		Idle                     api.IdleDay
	}{f, t.Users, t.Products, t.Devices,
		stacked("usage", "Tokens per day by product", "Tokens charged each day from "+f.From+" to "+f.To+", stacked by product.", xs, ss),
		pcols, table, sums(t.PerUser, prices.TokenMilli), sums(t.PerProduct, prices.TokenMilli), sums(t.PerTag, prices.TokenMilli), total, prices,
		Prefix + "t/" + url.PathEscape(team) + "/usage.csv?" + f.query().Encode(), idle}})
}

func (c *Console) usageCSV(w http.ResponseWriter, r *http.Request, s *session, team string) {
	f, rows, ok := c.usageRows(w, r, s, team)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="usage-`+team+`-`+f.From+`-`+f.To+`.csv"`)
	out := csv.NewWriter(w)
	out.Write([]string{"day", "user", "product", "device", "sessions", "subscription", "paid_window", "denied", "use_seconds", "charges", "tokens", "duplicates"})
	i := strconv.FormatInt
	for _, u := range rows {
		if f.match(u) {
			out.Write([]string{u.Day, safeCell(u.User), safeCell(u.Product), safeCell(u.Device), i(u.Sessions, 10), i(u.Subscription, 10), i(u.PaidWindow, 10),
				i(u.Denied, 10), i(u.UseSeconds, 10), i(u.Charges, 10), i(u.Tokens, 10), i(u.Duplicates, 10)})
		}
	}
	out.Flush()
}

// safeCell keeps a spreadsheet from reading a device's name as a formula.
func safeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (c *Console) forecast(w http.ResponseWriter, r *http.Request, s *session, team string) {
	f, prices, err := advisor.LoadForecastPrices(r.Context(), c.store, team, c.now())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, "forecast", s, view{Title: "Forecast", Team: team, Data: struct {
		F      api.Forecast
		Prices api.Prices
	}{f, prices}})
}

// advicePage is how many (user, product) lines the advisor page shows at a time: a
// team of 500 on three products has 1,500, which the page's tiles sum up first.
const advicePage = 100

func (c *Console) advisor(w http.ResponseWriter, r *http.Request, s *session, team string) {
	now := c.now()
	rep, err := advisor.LoadReport(r.Context(), c.store, team, now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	// What the verdicts add up to, over every line: the tiles above the table.
	type tally struct {
		Verdict, Name string
		Lines         int
		Savings       int64
	}
	tallies := []tally{{api.MoveSubscription, "Move to a subscription", 0, 0}, {api.MoveTokens, "Move to tokens", 0, 0},
		{api.KeepTokens, "Keep on tokens", 0, 0}, {api.KeepSubscription, "Keep the subscription", 0, 0},
		{api.TooClose, "Too close to call", 0, 0}, {api.TooEarly, "Too early to tell", 0, 0}}
	var savings int64
	for _, a := range rep.Advice {
		for i := range tallies {
			if tallies[i].Verdict == a.Verdict {
				tallies[i].Lines++
				if a.Verdict == api.MoveSubscription || a.Verdict == api.MoveTokens {
					tallies[i].Savings += a.Savings
					savings += a.Savings
				}
			}
		}
	}
	n := len(rep.Advice)
	pages := max(1, (n+advicePage-1)/advicePage)
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, pages)
	lo, hi := (page-1)*advicePage, min(page*advicePage, n)
	link := func(p int) string {
		if p < 1 || p > pages || p == page {
			return ""
		}
		return Prefix + "t/" + url.PathEscape(team) + "/advisor?page=" + strconv.Itoa(p)
	}
	c.render(w, r, "advisor", s, view{Title: "Advisor", Team: team, Data: struct {
		Advice             []api.Advice
		Tallies            []tally
		Savings            int64
		Prices             api.Prices
		Products           []api.Product
		First, Last, Lines int
		Page, Pages        int
		Prev, Next         string
	}{rep.Advice[lo:hi], tallies, savings, rep.Prices, rep.Products, lo + 1, hi, n, page, pages, link(page - 1), link(page + 1)}})
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session, team string) {
	now := c.now()
	t, err := c.store.Team(r.Context(), team, now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	us, err := c.store.Users(r.Context(), team)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	ps, err := c.store.Products(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	tags, err := c.store.Tags(r.Context(), team)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	type userRow struct {
		api.User
		Tags   []string
		Active []charge.Subscription
	}
	var rows []userRow
	for _, u := range us {
		row := userRow{User: u, Tags: tags[u.ID]}
		for _, sub := range u.Subscriptions {
			if sub.Until.IsZero() || sub.Until.After(now) {
				row.Active = append(row.Active, sub)
			}
		}
		rows = append(rows, row)
	}
	c.render(w, r, "users", s, view{Title: "Users and products", Team: team, Data: struct {
		T        api.Team
		Users    []userRow
		Products []api.Product
		Today    string
	}{t, rows, ps, now.Format(time.DateOnly)}})
}

func (c *Console) devices(w http.ResponseWriter, r *http.Request, s *session, team string) {
	now := c.now()
	ds, err := c.store.Devices(r.Context(), team)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if len(ds) == 0 {
		if _, err := c.store.Team(r.Context(), team, now); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	type deviceRow struct {
		api.Device
		Offline string
		Stale   bool
		Backlog string // what it had left to send at its last sync
		Behind  bool   // that backlog is more than a day old
	}
	var rows []deviceRow
	for _, d := range ds {
		d.Age(now)
		row := deviceRow{Device: d}
		if d.LastSeen.IsZero() {
			row.Offline, row.Stale = "never synced", true
		} else {
			row.Offline = ago(time.Duration(d.OfflineSeconds) * time.Second)
			row.Stale = now.Sub(d.LastSeen) > charge.Day
		}
		row.Backlog, row.Behind = d.BacklogText(), d.Backlog > 0 && d.BacklogAgeSeconds > 86400
		rows = append(rows, row)
	}
	c.render(w, r, "devices", s, view{Title: "Devices", Team: team, Data: rows})
}

func (c *Console) notices(w http.ResponseWriter, r *http.Request, s *session, team string) {
	now := c.now()
	ns, err := c.store.Notifications(r.Context(), team)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	refused, err := c.store.RefusedCharges(r.Context(), team, now.Add(-90*charge.Day), now.Add(time.Nanosecond))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	type notice struct {
		api.Notification
		State string
	}
	var rows []notice
	for _, n := range ns {
		st := "waiting"
		switch {
		case !n.Delivered.IsZero():
			st = "delivered " + n.Delivered.UTC().Format("2006-01-02 15:04 UTC")
		case n.GaveUp:
			st = "gave up"
		case n.Attempts > 0:
			st = "retrying"
		}
		rows = append(rows, notice{n, st})
	}
	c.render(w, r, "notices", s, view{Title: "Notices", Team: team, Data: struct {
		Notices []notice
		Refused []api.Refusal
	}{rows, refused}})
}

func formProducts(r *http.Request) charge.Products {
	if r.PostForm.Get("all") != "" {
		return nil
	}
	var out charge.Products
	for _, p := range r.PostForm["product"] {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) setRestrictions(w http.ResponseWriter, r *http.Request, s *session, team string) {
	ps := formProducts(r)
	if r.PostForm.Get("all") == "" && len(ps) == 0 {
		c.done(w, r, s, team, "users", nil, "Tick at least one product, or 'all products'; nothing was changed.", true)
		return
	}
	t, err := c.store.SetRestrictions(r.Context(), team, api.Restrictions{Products: ps}, c.now())
	if err != nil {
		c.doneErr(w, r, s, team, "users", err)
		return
	}
	c.done(w, r, s, team, "users", nil, "The team's tokens now cover "+productList(t.Products)+".", false)
}

func (c *Console) putUser(w http.ResponseWriter, r *http.Request, s *session, team string) {
	user := strings.TrimSpace(r.PostForm.Get("user"))
	assigned := r.PostForm.Get("assigned") != ""
	u, err := c.store.PutUser(r.Context(), team, user, api.PutUser{Assigned: &assigned, Products: formProducts(r)})
	if err != nil {
		c.doneErr(w, r, s, team, "users", err)
		return
	}
	msg := "User " + u.ID + " may use " + productList(u.Products)
	if u.Assigned {
		msg += ", paid from the team's tokens."
	} else {
		msg += "; not assigned to the team's tokens."
	}
	c.done(w, r, s, team, "users", nil, msg, false)
}

func (c *Console) addSubscription(w http.ResponseWriter, r *http.Request, s *session, team string) {
	sub := charge.Subscription{Product: r.PostForm.Get("product")}
	var err error
	if sub.From, err = time.Parse(time.DateOnly, r.PostForm.Get("from")); err != nil {
		c.done(w, r, s, team, "users", nil, "The subscription's start is not a date: use YYYY-MM-DD. Nothing was changed.", true)
		return
	}
	if v := r.PostForm.Get("until"); v != "" {
		if sub.Until, err = time.Parse(time.DateOnly, v); err != nil {
			c.done(w, r, s, team, "users", nil, "The subscription's end is not a date: use YYYY-MM-DD, or leave it empty. Nothing was changed.", true)
			return
		}
	}
	user := r.PostForm.Get("user")
	if _, err := c.store.AddSubscription(r.Context(), team, user, sub); err != nil {
		c.doneErr(w, r, s, team, "users", err)
		return
	}
	c.done(w, r, s, team, "users", nil, "User "+user+" has a subscription to "+sub.Product+" from "+sub.From.Format(time.DateOnly)+".", false)
}

func (c *Console) setTags(w http.ResponseWriter, r *http.Request, s *session, team string) {
	user := r.PostForm.Get("user")
	tags, err := c.store.SetTags(r.Context(), team, user, strings.FieldsFunc(r.PostForm.Get("tags"), func(r rune) bool { return r == ',' || r == ' ' }))
	if err != nil {
		c.doneErr(w, r, s, team, "users", err)
		return
	}
	c.done(w, r, s, team, "users", nil, "User "+user+"'s tags: "+cmp.Or(strings.Join(tags, ", "), "none")+".", false)
}

func (c *Console) setPrices(w http.ResponseWriter, r *http.Request, s *session, team string) {
	page := cmp.Or(r.PostForm.Get("back"), "advisor")
	if page != "advisor" && page != "forecast" {
		page = "advisor"
	}
	var sp api.SetPrices
	if v := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("currency"))); v != "" {
		sp.Currency = &v
	}
	if r.PostForm.Has("token_price") {
		m, err := api.ParseMilli(r.PostForm.Get("token_price"))
		if err != nil {
			c.done(w, r, s, team, page, nil, "Token price: "+err.Error()+". Nothing was changed.", true)
			return
		}
		sp.TokenMilli = &m
	}
	for k, vs := range r.PostForm {
		p, ok := strings.CutPrefix(k, "sub_")
		if !ok || len(vs) == 0 {
			continue
		}
		m, err := api.ParseMilli(vs[0])
		if err != nil {
			c.done(w, r, s, team, page, nil, "Subscription price of "+p+": "+err.Error()+". Nothing was changed.", true)
			return
		}
		if sp.Subscriptions == nil {
			sp.Subscriptions = map[string]int64{}
		}
		sp.Subscriptions[p] = m
	}
	if _, err := c.store.SetPrices(r.Context(), team, sp); err != nil {
		c.doneErr(w, r, s, team, page, err)
		return
	}
	c.done(w, r, s, team, page, nil, "Prices saved.", false)
}

// doneErr reports a refused change on the page it came from; other errors are hidden.
func (c *Console) doneErr(w http.ResponseWriter, r *http.Request, s *session, team, page string, err error) {
	switch code := storeCode(err); code {
	case api.CodeBadRequest, api.CodeNotFound, api.CodeConflict, api.CodeForbidden:
		c.done(w, r, s, team, page, nil, err.Error()+". Nothing was changed.", true)
	default:
		c.fail(w, r, s, err)
	}
}
