package charge

import (
	"fmt"
	"slices"
	"time"
)

// The fixed spans of the rules.
const (
	Day      = 24 * time.Hour   // a paid window's length
	Grace    = 5 * time.Minute  // uncharged use allowed per (user, product) over the trailing Day
	MergeGap = 10 * time.Second // a gap shorter than this between processes does not end a session
)

// Key is the business key of a charge: one per (team, user, product, window start),
// unique forever on the ledger, so a retry or a replay never debits twice.
type Key struct {
	Team    string    `json:"team"`
	User    string    `json:"user"`
	Product string    `json:"product"`
	Start   time.Time `json:"start"`
}

func (k Key) String() string {
	return fmt.Sprintf("%s/%s/%s/%s", k.Team, k.User, k.Product, k.Start.UTC().Format(time.RFC3339Nano))
}

// Window is a paid 24-hour span [Start, Start+Day) of (user, product), on every device.
type Window struct {
	Key    Key    `json:"key"`
	Tokens int64  `json:"tokens"`
	Device string `json:"device,omitempty"` // where it was paid, for reports
}

// End is the first instant the window no longer covers.
func (w Window) End() time.Time { return w.Key.Start.Add(Day) }

// Covers reports whether t falls inside the window.
func (w Window) Covers(t time.Time) bool {
	return !t.Before(w.Key.Start) && t.Before(w.End())
}

// Overlaps reports whether two windows share any instant.
func (w Window) Overlaps(o Window) bool {
	return w.Key.Start.Before(o.End()) && o.Key.Start.Before(w.End())
}

// Fold finds the window that a new charge must be folded into: an existing window of the
// same team, user and product that overlaps it. Two devices that both charged while
// offline produce overlapping windows; the earliest one stands and the others debit
// nothing. The boolean is false when the charge opens a window of its own.
func Fold(existing []Window, k Key) (Window, bool) {
	w := Window{Key: k}
	var found []Window
	for _, e := range existing {
		if e.Key.Team == k.Team && e.Key.User == k.User && e.Key.Product == k.Product && e.Overlaps(w) {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		return Window{}, false
	}
	return slices.MinFunc(found, func(a, b Window) int { return a.Key.Start.Compare(b.Key.Start) }), true
}

// Subscription is a user's subscription to a product over [From, Until); a zero Until
// has no end.
type Subscription struct {
	Product string    `json:"product" yaml:"product"`
	From    time.Time `json:"from" yaml:"from"`
	Until   time.Time `json:"until,omitzero" yaml:"until"`
}

// Active reports whether the subscription covers t.
func (s Subscription) Active(t time.Time) bool {
	return !t.Before(s.From) && (s.Until.IsZero() || t.Before(s.Until))
}

// Products is a set of product ids. Empty means every product, including products added
// to the catalogue later, which is what an admin who never restricted anything expects.
type Products []string

// Has reports whether the set includes product p.
func (s Products) Has(p string) bool {
	return len(s) == 0 || slices.Contains(s, p) || slices.Contains(s, "*")
}
