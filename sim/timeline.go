// Package sim replays a usage timeline through the charging rules: what would a month
// like last month cost in tokens? It is the engine behind `tollgate simulate`.
package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"tollgate/charge"
)

// Timeline is a simulation input: the catalogue, the teams and their packs, the users,
// the policy, and what happened, in time order. Its YAML form is documented in docs/simulate.md.
type Timeline struct {
	Policy   Policy    `yaml:"policy"`
	Products []Product `yaml:"products"`
	Teams    []Team    `yaml:"teams"`
	Packs    []Pack    `yaml:"packs"`
	Users    []User    `yaml:"users"`
	Events   []Event   `yaml:"events"`
	Prices   *Prices   `yaml:"prices"` // optional: the advisor's money figures

	at map[string][]int // the line of each entry of each list, for error messages
}

// Policy is charge.Policy in the timeline's words.
type Policy struct {
	OfflineMaxAge    Duration         `yaml:"offline_max_age"`
	RenewalWhenEmpty charge.WhenEmpty `yaml:"renewal_when_empty"`
	CloseAfter       Duration         `yaml:"close_after"`
	RenewalWhenIdle  charge.WhenIdle  `yaml:"renewal_when_idle"`
	IdleAfter        Duration         `yaml:"idle_after"`
	NightlyClose     string           `yaml:"nightly_close"` // "HH:MM", UTC in the simulator
}

// Product is an entry of the catalogue.
type Product struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	Rate int64  `yaml:"rate"`
}

// Team owns a token pool.
type Team struct {
	ID        string           `yaml:"id"`
	Products  charge.Products  `yaml:"products"` // what its tokens cover; empty = all
	Threshold charge.Threshold `yaml:"threshold"`
}

// Pack is a purchase made before the timeline starts, or by a buy event.
type Pack struct {
	ID     string `yaml:"id"`
	Team   string `yaml:"team"`
	Tokens int64  `yaml:"tokens"`
	Left   *int64 `yaml:"left"`   // what is left of it when the timeline starts; default all
	Bought Time   `yaml:"bought"` // sets its expiry; default the timeline's start (a buy: the event's time)
}

// User is a licensing identity.
type User struct {
	ID            string          `yaml:"id"`
	Team          string          `yaml:"team"`
	Assigned      *bool           `yaml:"assigned"` // default true
	Products      charge.Products `yaml:"products"` // may use; empty = all
	Subscriptions []Subscription  `yaml:"subscriptions"`
}

// Subscription is a user's subscription to a product.
type Subscription struct {
	Product string `yaml:"product"`
	From    Time   `yaml:"from"`
	Until   Time   `yaml:"until"`
}

// Event is one thing that happened; exactly one of its action fields is set.
type Event struct {
	At     Time   `yaml:"at"`
	Device string `yaml:"device"`
	User   string `yaml:"user"`
	Proc   string `yaml:"proc"` // names a process, to end that one among several

	Start   string    `yaml:"start"` // a process of this product started
	End     string    `yaml:"end"`   // a process of this product ended
	Offline bool      `yaml:"offline"`
	Online  bool      `yaml:"online"`
	Sleep   bool      `yaml:"sleep"`
	Wake    bool      `yaml:"wake"`
	Clock   *Duration `yaml:"clock"` // the device's wall clock jumps by this much (negative: backwards)
	// Idle: from now the user's desktop session on the device has no keyboard or mouse
	// input, as its notifier reports; Active: input again, and on. A user with neither
	// has no notifier: never idle.
	Idle     bool  `yaml:"idle"`
	Active   bool  `yaml:"active"`
	Buy      *Pack `yaml:"buy"`
	Transfer *Move `yaml:"transfer"`

	// What the ledger's admins change, applied as the ledger applies it.
	Report    bool             `yaml:"report"` // print where things stand at this instant
	Rate      *RateChange      `yaml:"rate"`
	Subscribe *Subscribe       `yaml:"subscribe"`
	Assign    *Assign          `yaml:"assign"`
	Unassign  *Unassign        `yaml:"unassign"`
	Restrict  *Restrict        `yaml:"restrict"`
	Threshold *ThresholdChange `yaml:"threshold"`
	Budget    *Cap             `yaml:"budget"`

	line int
}

// RateChange sets a product's daily rate; windows starting after it cost the new rate.
type RateChange struct {
	Product string `yaml:"product"`
	Tokens  int64  `yaml:"tokens"`
}

// Subscribe gives a user a subscription to a product.
type Subscribe struct {
	User    string `yaml:"user"`
	Product string `yaml:"product"`
	From    Time   `yaml:"from"`  // default the event's time
	Until   Time   `yaml:"until"` // default open-ended
}

// Assign assigns a user to a team's token pool (moving them when they were in another).
type Assign struct {
	User string `yaml:"user"`
	Team string `yaml:"team"`
}

// Unassign takes a user off their team's token pool.
type Unassign struct {
	User string `yaml:"user"`
}

// Restrict sets the products a team's tokens cover, or a user may use; empty lifts it.
type Restrict struct {
	Team     string          `yaml:"team"`
	User     string          `yaml:"user"`
	Products charge.Products `yaml:"products"`
}

// Cap sets a cap (rule 13) on the tokens a team, or one user or one product of it, may
// start charges for per UTC day or month, as `tollgate ledger budget set` does; Extra with
// Until grants a one-off extension, as `budget extend` does.
type Cap struct {
	Team    string        `yaml:"team"` // default: the user's team
	User    string        `yaml:"user"`
	Product string        `yaml:"product"`
	Period  charge.Period `yaml:"period"`
	Tokens  int64         `yaml:"tokens"`
	Extra   int64         `yaml:"extra"`
	Until   Time          `yaml:"until"`
}

// ThresholdChange sets a team's low-balance threshold.
type ThresholdChange struct {
	Team     string `yaml:"team"`
	Percent  int64  `yaml:"percent"`
	Absolute int64  `yaml:"absolute"`
}

// Move transfers a pack to another team.
type Move struct {
	Pack   string `yaml:"pack"`
	To     string `yaml:"to"`
	Tokens int64  `yaml:"tokens"` // optional; must equal what is left when given
}

// Time accepts RFC 3339 times and plain dates (midnight UTC).
type Time struct{ time.Time }

// UnmarshalYAML parses a time or a date.
func (t *Time) UnmarshalYAML(n *yaml.Node) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if v, err := time.Parse(layout, n.Value); err == nil {
			if err := charge.CheckTime(fmt.Sprintf("line %d: time", n.Line), v); err != nil {
				return err
			}
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("line %d: %q is not a time: write 2026-11-02T08:00:00Z or 2026-11-02", n.Line, n.Value)
}

// Duration accepts Go durations such as 90m, 1h30m, -2h.
type Duration time.Duration

// UnmarshalYAML parses a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration: write 90m, 1h30m or -2h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// maxSimDuration bounds the timeline's durations, so that every time a device can reach
// stays within charge.MinTime..MaxTime give or take a year.
const maxSimDuration = 400 * charge.Day

// goType strips the Go type from yaml's messages: the person reading them wrote YAML.
var goType = regexp.MustCompile(` (in|into) (type )?[\w.\[\]*]+$`)

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)

// Parse decodes and checks a timeline. Errors name the line and say what to fix.
func Parse(name string, data []byte) (*Timeline, error) {
	var tl Timeline
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&tl); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty: a timeline needs products, teams, users and events", name)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = name + ": " + goType.ReplaceAllString(m, "")
			}
			return nil, errors.New(strings.Join(msgs, "\n"))
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		tl.lines(&root)
	}
	if err := tl.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &tl, nil
}

// lines records the line of every entry of every list, for error messages after decoding.
func (tl *Timeline) lines(root *yaml.Node) {
	tl.at = map[string][]int{}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		for _, n := range m.Content[i+1].Content {
			tl.at[m.Content[i].Value] = append(tl.at[m.Content[i].Value], n.Line)
		}
	}
	for j := range tl.Events {
		tl.Events[j].line = tl.line("events", j)
	}
}

func (tl *Timeline) line(list string, i int) int {
	if ls := tl.at[list]; i < len(ls) {
		return ls[i]
	}
	return 0
}

// where names entry i of a list by its line, or by its index when the line is unknown.
func (tl *Timeline) where(list string, i int) string {
	if n := tl.line(list, i); n > 0 {
		return fmt.Sprintf("line %d", n)
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

func (tl *Timeline) check() error {
	if tl.Policy.OfflineMaxAge > Duration(maxSimDuration) || tl.Policy.CloseAfter > Duration(maxSimDuration) {
		return fmt.Errorf("policy: offline_max_age and close_after may be at most %v (400 days)", maxSimDuration)
	}
	if err := (charge.Policy{RenewalWhenEmpty: tl.Policy.RenewalWhenEmpty, OfflineMaxAge: time.Duration(tl.Policy.OfflineMaxAge), CloseAfter: time.Duration(tl.Policy.CloseAfter),
		RenewalWhenIdle: tl.Policy.RenewalWhenIdle, IdleAfter: time.Duration(tl.Policy.IdleAfter)}).Validate(); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if _, err := charge.ParseNightly(tl.Policy.NightlyClose, time.UTC); tl.Policy.NightlyClose != "" && err != nil {
		return fmt.Errorf("policy: nightly_close %w", err)
	}
	if len(tl.Events) == 0 {
		return errors.New("events: the timeline has no events; add at least one process start")
	}
	start := tl.Events[0].At.Time
	products := map[string]bool{}
	for i, p := range tl.Products {
		where := tl.where("products", i)
		switch {
		case !idRE.MatchString(p.ID):
			return fmt.Errorf("%s: product id %q: use letters, digits and - . _", where, p.ID)
		case products[p.ID]:
			return fmt.Errorf("%s: product %q is listed twice: give each product one entry", where, p.ID)
		case p.Rate <= 0 || p.Rate > 1_000_000:
			return fmt.Errorf("%s: product %q: rate %d: a daily rate is 1 to 1000000 tokens", where, p.ID, p.Rate)
		}
		products[p.ID] = true
	}
	if err := tl.Prices.check(products); err != nil {
		return err
	}
	known := func(set charge.Products, where string) error {
		for _, p := range set {
			if p != "*" && !products[p] {
				return fmt.Errorf("%s: unknown product %q; the catalogue has %s", where, p, strings.Join(tl.productIDs(), ", "))
			}
		}
		return nil
	}
	teams := map[string]bool{}
	checkThreshold := func(t charge.Threshold, where string) error {
		if t.Absolute < 0 || t.Percent < 0 || t.Percent > 100 {
			return fmt.Errorf("%s: threshold: write {percent: 0 to 100} or {absolute: a positive number of tokens}", where)
		}
		return nil
	}
	for i, t := range tl.Teams {
		where := tl.where("teams", i)
		if !idRE.MatchString(t.ID) || teams[t.ID] {
			return fmt.Errorf("%s: team id %q is empty, malformed or listed twice: use letters, digits and - . _, once each", where, t.ID)
		}
		if err := known(t.Products, fmt.Sprintf("%s: team %q", where, t.ID)); err != nil {
			return err
		}
		if err := checkThreshold(t.Threshold, fmt.Sprintf("%s: team %q", where, t.ID)); err != nil {
			return err
		}
		teams[t.ID] = true
	}
	teamErr := func(where, team string) error {
		return fmt.Errorf("%s: unknown team %q; the teams are %s", where, team, strings.Join(tl.teamIDs(), ", "))
	}
	packs := map[string]bool{}
	checkPack := func(p Pack, where string) error {
		if !idRE.MatchString(p.ID) || packs[p.ID] {
			return fmt.Errorf("%s: pack id %q is empty, malformed or used twice: give each pack its own id", where, p.ID)
		}
		if !teams[p.Team] {
			return teamErr(fmt.Sprintf("%s: pack %q", where, p.ID), p.Team)
		}
		packs[p.ID] = true
		return nil
	}
	for i := range tl.Packs {
		p := &tl.Packs[i]
		where := tl.where("packs", i)
		if err := checkPack(*p, where); err != nil {
			return err
		}
		if p.Bought.IsZero() {
			p.Bought.Time = start // the documented default: bought as the timeline starts
		}
		if _, err := charge.NewPack(p.ID, p.Team, p.Tokens, p.Bought.Time); err != nil {
			return fmt.Errorf("%s: pack %q: %w", where, p.ID, err)
		}
		if p.Bought.After(start) {
			return fmt.Errorf("%s: pack %q is bought after the first event: list it as a buy event at its time", where, p.ID)
		}
		if p.Left != nil && (*p.Left < 0 || *p.Left > p.Tokens) {
			return fmt.Errorf("%s: pack %q: left %d: want 0 to %d", where, p.ID, *p.Left, p.Tokens)
		}
	}
	users := map[string]bool{}
	checkSub := func(s Subscription, where string) error {
		if !products[s.Product] {
			return fmt.Errorf("%s: unknown product %q; the catalogue has %s", where, s.Product, strings.Join(tl.productIDs(), ", "))
		}
		if !s.Until.IsZero() && !s.Until.After(s.From.Time) {
			return fmt.Errorf("%s: until %s is not after from %s", where, s.Until.Format(time.RFC3339), s.From.Format(time.RFC3339))
		}
		return nil
	}
	for i, u := range tl.Users {
		where := fmt.Sprintf("%s: user %q", tl.where("users", i), u.ID)
		switch {
		case !idRE.MatchString(u.ID) || users[u.ID]:
			return fmt.Errorf("%s: user id is empty, malformed or listed twice: use letters, digits and - . _ @ +, once each", where)
		case !teams[u.Team]:
			return teamErr(where, u.Team)
		}
		if err := known(u.Products, where); err != nil {
			return err
		}
		for j, s := range u.Subscriptions {
			if err := checkSub(s, fmt.Sprintf("%s: subscriptions[%d]", where, j)); err != nil {
				return err
			}
		}
		users[u.ID] = true
	}
	userErr := func(where, user string) error {
		if user == "" {
			return fmt.Errorf("%s: missing user", where)
		}
		return fmt.Errorf("%s: unknown user %q; list them under users", where, user)
	}
	var last time.Time
	for i := range tl.Events {
		e := &tl.Events[i]
		where := tl.where("events", i)
		if e.At.IsZero() {
			return fmt.Errorf("%s: missing at: every event needs a time", where)
		}
		if e.At.Before(last) {
			return fmt.Errorf("%s: at %s is before the previous event (%s): list events in time order", where, e.At.Format(time.RFC3339), last.Format(time.RFC3339))
		}
		last = e.At.Time
		n := 0
		for _, set := range []bool{e.Start != "", e.End != "", e.Offline, e.Online, e.Sleep, e.Wake, e.Clock != nil, e.Idle, e.Active, e.Buy != nil, e.Transfer != nil,
			e.Report, e.Rate != nil, e.Subscribe != nil, e.Assign != nil, e.Unassign != nil, e.Restrict != nil, e.Threshold != nil, e.Budget != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: an event does exactly one thing (%s); this one does %d", where, eventKinds, n)
		}
		if e.Clock != nil && (*e.Clock > Duration(maxSimDuration) || *e.Clock < -Duration(maxSimDuration)) {
			return fmt.Errorf("%s: clock %v: a device's clock may jump at most %v (400 days) either way", where, time.Duration(*e.Clock), maxSimDuration)
		}
		needsDevice := e.Start != "" || e.End != "" || e.Offline || e.Online || e.Sleep || e.Wake || e.Clock != nil || e.Idle || e.Active
		if needsDevice && e.Device == "" {
			return fmt.Errorf("%s: missing device: name the computer this happened on", where)
		}
		if p := e.Start + e.End; p != "" {
			if !products[p] {
				return fmt.Errorf("%s: unknown product %q; the catalogue has %s", where, p, strings.Join(tl.productIDs(), ", "))
			}
			if !users[e.User] {
				return userErr(where, e.User)
			}
		}
		if (e.Idle || e.Active) && !users[e.User] {
			return userErr(where, e.User)
		}
		switch {
		case e.Buy != nil:
			if err := checkPack(*e.Buy, where+": buy"); err != nil {
				return err
			}
		case e.Transfer != nil:
			if !packs[e.Transfer.Pack] {
				return fmt.Errorf("%s: transfer: unknown pack %q: list it under packs or buy it earlier", where, e.Transfer.Pack)
			}
			if !teams[e.Transfer.To] {
				return teamErr(where+": transfer", e.Transfer.To)
			}
		case e.Rate != nil:
			if !products[e.Rate.Product] {
				return fmt.Errorf("%s: rate: unknown product %q; the catalogue has %s", where, e.Rate.Product, strings.Join(tl.productIDs(), ", "))
			}
			if e.Rate.Tokens <= 0 || e.Rate.Tokens > 1_000_000 {
				return fmt.Errorf("%s: rate: tokens %d: a daily rate is 1 to 1000000 tokens", where, e.Rate.Tokens)
			}
		case e.Subscribe != nil:
			if !users[e.Subscribe.User] {
				return userErr(where+": subscribe", e.Subscribe.User)
			}
			if e.Subscribe.From.IsZero() {
				e.Subscribe.From.Time = e.At.Time
			}
			if err := checkSub(Subscription{Product: e.Subscribe.Product, From: e.Subscribe.From, Until: e.Subscribe.Until}, where+": subscribe"); err != nil {
				return err
			}
		case e.Assign != nil:
			if !users[e.Assign.User] {
				return userErr(where+": assign", e.Assign.User)
			}
			if !teams[e.Assign.Team] {
				return teamErr(where+": assign", e.Assign.Team)
			}
		case e.Unassign != nil:
			if !users[e.Unassign.User] {
				return userErr(where+": unassign", e.Unassign.User)
			}
		case e.Restrict != nil:
			r := e.Restrict
			switch {
			case (r.Team == "") == (r.User == ""):
				return fmt.Errorf("%s: restrict: name either a team or a user", where)
			case r.Team != "" && !teams[r.Team]:
				return teamErr(where+": restrict", r.Team)
			case r.User != "" && !users[r.User]:
				return userErr(where+": restrict", r.User)
			}
			if err := known(r.Products, where+": restrict"); err != nil {
				return err
			}
		case e.Budget != nil:
			if err := checkCap(e.Budget, e.At.Time, where+": budget", tl, teams, users, products); err != nil {
				return err
			}
		case e.Threshold != nil:
			if !teams[e.Threshold.Team] {
				return teamErr(where+": threshold", e.Threshold.Team)
			}
			if err := checkThreshold(charge.Threshold{Percent: e.Threshold.Percent, Absolute: e.Threshold.Absolute}, where); err != nil {
				return err
			}
		}
	}
	return nil
}

const eventKinds = "start, end, offline, online, sleep, wake, clock, idle, active, buy, transfer, report, rate, subscribe, assign, unassign, restrict, threshold or budget"

// checkCap checks a budget event and fills in its team from its user.
func checkCap(c *Cap, at time.Time, where string, tl *Timeline, teams, users, products map[string]bool) error {
	switch {
	case !c.Period.Valid():
		return fmt.Errorf("%s: period %q: want day or month", where, c.Period)
	case c.User != "" && c.Product != "":
		return fmt.Errorf("%s: a cap is on a team, one user or one product: name a user or a product, not both", where)
	case c.User != "" && !users[c.User]:
		return fmt.Errorf("%s: unknown user %q; list them under users", where, c.User)
	case c.Product != "" && !products[c.Product]:
		return fmt.Errorf("%s: unknown product %q; the catalogue has %s", where, c.Product, strings.Join(tl.productIDs(), ", "))
	case c.Tokens < 0 || c.Tokens > charge.MaxPack:
		return fmt.Errorf("%s: tokens %d: a cap is 0 to %d tokens", where, c.Tokens, int64(charge.MaxPack))
	case c.Extra < 0 || c.Extra > charge.MaxPack:
		return fmt.Errorf("%s: extra %d: an extension is 0 to %d tokens", where, c.Extra, int64(charge.MaxPack))
	case c.Extra > 0 && !c.Until.After(at):
		return fmt.Errorf("%s: extra %d needs an until after the event's time, when the extension ends", where, c.Extra)
	}
	if c.Team == "" && c.User != "" {
		for _, u := range tl.Users {
			if u.ID == c.User {
				c.Team = u.Team
			}
		}
	}
	if !teams[c.Team] {
		if c.Team == "" {
			return fmt.Errorf("%s: missing team: name the team, or the user whose team it is", where)
		}
		return fmt.Errorf("%s: unknown team %q; the timeline has %s", where, c.Team, strings.Join(tl.teamIDs(), ", "))
	}
	return nil
}

func (tl *Timeline) teamIDs() []string {
	ids := make([]string, len(tl.Teams))
	for i, t := range tl.Teams {
		ids[i] = t.ID
	}
	return ids
}

func (tl *Timeline) productIDs() []string {
	ids := make([]string, len(tl.Products))
	for i, p := range tl.Products {
		ids[i] = p.ID
	}
	return ids
}
