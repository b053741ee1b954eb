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
}

// Policy is charge.Policy in the timeline's words.
type Policy struct {
	OfflineMaxAge    Duration         `yaml:"offline_max_age"`
	RenewalWhenEmpty charge.WhenEmpty `yaml:"renewal_when_empty"`
	CloseAfter       Duration         `yaml:"close_after"`
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

// Pack is a purchase made before the timeline starts (or at Bought, if later).
type Pack struct {
	ID     string `yaml:"id"`
	Team   string `yaml:"team"`
	Tokens int64  `yaml:"tokens"`
	Left   *int64 `yaml:"left"` // what is left of it when the timeline starts; default all
	Bought Time   `yaml:"bought"`
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

	Start    string    `yaml:"start"` // a process of this product started
	End      string    `yaml:"end"`   // a process of this product ended
	Offline  bool      `yaml:"offline"`
	Online   bool      `yaml:"online"`
	Sleep    bool      `yaml:"sleep"`
	Wake     bool      `yaml:"wake"`
	Clock    *Duration `yaml:"clock"` // the device's wall clock jumps by this much (negative: backwards)
	Buy      *Pack     `yaml:"buy"`
	Transfer *Move     `yaml:"transfer"`

	line int
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

// lines records each event's line for error messages after decoding.
func (tl *Timeline) lines(root *yaml.Node) {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "events" {
			continue
		}
		for j, n := range m.Content[i+1].Content {
			if j < len(tl.Events) {
				tl.Events[j].line = n.Line
			}
		}
	}
}

func (tl *Timeline) check() error {
	if tl.Policy.OfflineMaxAge > Duration(maxSimDuration) || tl.Policy.CloseAfter > Duration(maxSimDuration) {
		return fmt.Errorf("policy: offline_max_age and close_after may be at most %v (400 days)", maxSimDuration)
	}
	if err := (charge.Policy{RenewalWhenEmpty: tl.Policy.RenewalWhenEmpty, OfflineMaxAge: time.Duration(tl.Policy.OfflineMaxAge), CloseAfter: time.Duration(tl.Policy.CloseAfter)}).Validate(); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	products := map[string]bool{}
	for i, p := range tl.Products {
		switch {
		case !idRE.MatchString(p.ID):
			return fmt.Errorf("products[%d]: id %q: use letters, digits and - . _", i, p.ID)
		case products[p.ID]:
			return fmt.Errorf("products[%d]: product %q is listed twice", i, p.ID)
		case p.Rate <= 0 || p.Rate > 1_000_000:
			return fmt.Errorf("products[%d] %q: rate %d: a daily rate is 1 to 1000000 tokens", i, p.ID, p.Rate)
		}
		products[p.ID] = true
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
	for i, t := range tl.Teams {
		if !idRE.MatchString(t.ID) || teams[t.ID] {
			return fmt.Errorf("teams[%d]: id %q is empty, malformed or listed twice", i, t.ID)
		}
		if err := known(t.Products, fmt.Sprintf("teams[%d] %q", i, t.ID)); err != nil {
			return err
		}
		if t.Threshold.Absolute < 0 || t.Threshold.Percent < 0 || t.Threshold.Percent > 100 {
			return fmt.Errorf("teams[%d] %q: threshold: absolute must be positive, percent 0 to 100", i, t.ID)
		}
		teams[t.ID] = true
	}
	packs := map[string]bool{}
	checkPack := func(p Pack, where string) error {
		if !idRE.MatchString(p.ID) || packs[p.ID] {
			return fmt.Errorf("%s: pack id %q is empty, malformed or used twice", where, p.ID)
		}
		if !teams[p.Team] {
			return fmt.Errorf("%s: pack %q: unknown team %q", where, p.ID, p.Team)
		}
		packs[p.ID] = true
		return nil
	}
	for i, p := range tl.Packs {
		where := fmt.Sprintf("packs[%d]", i)
		if err := checkPack(p, where); err != nil {
			return err
		}
		if _, err := charge.NewPack(p.ID, p.Team, p.Tokens, p.Bought.Time); err != nil {
			return fmt.Errorf("%s: pack %q: %w", where, p.ID, err)
		}
		if p.Bought.IsZero() {
			return fmt.Errorf("%s: pack %q: missing bought: the purchase date sets its expiry", where, p.ID)
		}
		if len(tl.Events) > 0 && p.Bought.After(tl.Events[0].At.Time) {
			return fmt.Errorf("%s: pack %q is bought after the first event: list it as a buy event at its time", where, p.ID)
		}
		if p.Left != nil && (*p.Left < 0 || *p.Left > p.Tokens) {
			return fmt.Errorf("%s: pack %q: left %d: want 0 to %d", where, p.ID, *p.Left, p.Tokens)
		}
	}
	users := map[string]bool{}
	for i, u := range tl.Users {
		where := fmt.Sprintf("users[%d] %q", i, u.ID)
		switch {
		case !idRE.MatchString(u.ID) || users[u.ID]:
			return fmt.Errorf("users[%d]: id %q is empty, malformed or listed twice", i, u.ID)
		case !teams[u.Team]:
			return fmt.Errorf("%s: unknown team %q", where, u.Team)
		}
		if err := known(u.Products, where); err != nil {
			return err
		}
		for j, s := range u.Subscriptions {
			if !products[s.Product] {
				return fmt.Errorf("%s: subscriptions[%d]: unknown product %q", where, j, s.Product)
			}
			if !s.Until.IsZero() && !s.Until.After(s.From.Time) {
				return fmt.Errorf("%s: subscriptions[%d]: until %s is not after from %s", where, j, s.Until.Format(time.RFC3339), s.From.Format(time.RFC3339))
			}
		}
		users[u.ID] = true
	}
	if len(tl.Events) == 0 {
		return errors.New("events: the timeline has no events; add at least one process start")
	}
	var last time.Time
	for i, e := range tl.Events {
		where := fmt.Sprintf("line %d: events[%d]", e.line, i)
		if e.At.IsZero() {
			return fmt.Errorf("%s: missing at: every event needs a time", where)
		}
		if e.At.Before(last) {
			return fmt.Errorf("%s: at %s is before the previous event (%s): list events in time order", where, e.At.Format(time.RFC3339), last.Format(time.RFC3339))
		}
		last = e.At.Time
		n := 0
		for _, set := range []bool{e.Start != "", e.End != "", e.Offline, e.Online, e.Sleep, e.Wake, e.Clock != nil, e.Buy != nil, e.Transfer != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: an event does exactly one thing (start, end, offline, online, sleep, wake, clock, buy or transfer); this one does %d", where, n)
		}
		if e.Clock != nil && (*e.Clock > Duration(maxSimDuration) || *e.Clock < -Duration(maxSimDuration)) {
			return fmt.Errorf("%s: clock %v: a device's clock may jump at most %v (400 days) either way", where, time.Duration(*e.Clock), maxSimDuration)
		}
		needsDevice := e.Buy == nil && e.Transfer == nil
		if needsDevice && e.Device == "" {
			return fmt.Errorf("%s: missing device", where)
		}
		if p := e.Start + e.End; p != "" {
			if !products[p] {
				return fmt.Errorf("%s: unknown product %q; the catalogue has %s", where, p, strings.Join(tl.productIDs(), ", "))
			}
			if !users[e.User] {
				return fmt.Errorf("%s: unknown user %q", where, e.User)
			}
		}
		if e.Buy != nil {
			if err := checkPack(*e.Buy, where+": buy"); err != nil {
				return err
			}
		}
		if e.Transfer != nil && (!packs[e.Transfer.Pack] || !teams[e.Transfer.To]) {
			return fmt.Errorf("%s: transfer: unknown pack %q or team %q", where, e.Transfer.Pack, e.Transfer.To)
		}
	}
	return nil
}

func (tl *Timeline) productIDs() []string {
	ids := make([]string, len(tl.Products))
	for i, p := range tl.Products {
		ids[i] = p.ID
	}
	return ids
}
