package charge

import "time"

// Entitlement is what is known about a user when a launch is decided: the ledger's
// snapshot, or on a device offline the last snapshot less what the device spent since.
type Entitlement struct {
	User          string           `json:"user"`
	Team          string           `json:"team"`
	Assigned      bool             `json:"assigned"`      // assigned to the team's token pool
	Subscriptions []Subscription   `json:"subscriptions"` // the user's, any product
	TeamProducts  Products         `json:"team_products"` // what the team's tokens cover
	UserProducts  Products         `json:"user_products"` // what this user may use
	Rates         map[string]int64 `json:"rates"`         // the catalogue: product -> daily rate
	Available     int64            `json:"available"`     // unexpired tokens minus holds
	Windows       []Window         `json:"windows"`       // this user's windows, on any device
	AsOf          time.Time        `json:"as_of"`         // ledger time the snapshot was taken
	// Budgets are the caps that apply to this user (rule 13), with what was used of each.
	Budgets []Budget `json:"budgets,omitempty" yaml:"budgets"`
}

// Subscribed returns the user's subscription to p active at t.
func (e Entitlement) Subscribed(p string, t time.Time) (Subscription, bool) {
	for _, s := range e.Subscriptions {
		if s.Product == p && s.Active(t) {
			return s, true
		}
	}
	return Subscription{}, false
}

// Window returns the user's window for p that covers t.
func (e Entitlement) Window(p string, t time.Time) (Window, bool) {
	for _, w := range e.Windows {
		if w.Key.Product == p && w.Key.User == e.User && w.Covers(t) {
			return w, true
		}
	}
	return Window{}, false
}

// Decision is the answer to "may user U start product P now", with the numbers a message
// to the user needs.
type Decision struct {
	Allowed   bool          `json:"allowed"`
	Reason    Reason        `json:"reason"`
	User      string        `json:"user"`
	Team      string        `json:"team"`
	Product   string        `json:"product"`
	Rate      int64         `json:"rate"`                 // what a new window would cost
	Available int64         `json:"available"`            // the team's available balance
	Until     time.Time     `json:"until,omitzero"`       // end of the paid window or subscription
	Offline   time.Duration `json:"offline_for,omitzero"` // age of the snapshot when offline_too_long
	Budget    *Budget       `json:"budget,omitempty"`     // the cap a budget_exceeded launch would pass
}

// Decide applies rules 1, 2, 6 and 8 to a launch of product at time at.
//
// Order matters and is chosen for what an admin expects: a subscription always wins (it
// costs the pool nothing); then the admin's assignment and restrictions, which apply even
// inside a window already paid, because an admin who removes a user expects it to take
// effect now; then a paid window; then the offline allowance, which only guards new
// charges; then the budgets (rule 13), then the balance.
func Decide(e Entitlement, product string, at time.Time, p Policy) Decision {
	p = p.withDefaults()
	d := Decision{User: e.User, Team: e.Team, Product: product, Rate: e.Rates[product], Available: e.Available}
	if s, ok := e.Subscribed(product, at); ok {
		d.Allowed, d.Reason, d.Until = true, Subscribed, s.Until
		return d
	}
	if r := barred(e, product); r != "" {
		d.Reason = r
		return d
	}
	if w, ok := e.Window(product, at); ok {
		d.Allowed, d.Reason, d.Until = true, PaidWindow, w.End()
		return d
	}
	if age := at.Sub(e.AsOf); age > p.OfflineMaxAge {
		d.Reason, d.Offline = OfflineTooLong, age
		return d
	}
	if b, over := OverBudget(e.Budgets, e.User, product, d.Rate, at); over {
		d.Reason, d.Budget = BudgetExceeded, &b
		return d
	}
	if e.Available < d.Rate {
		d.Reason = InsufficientTokens
		return d
	}
	d.Allowed, d.Reason = true, InGrace
	return d
}

// barred is the admin's word on user and product: not assigned to the pool, or the
// product restricted; "" when neither.
func barred(e Entitlement, product string) Reason {
	if !e.Assigned {
		return NotAssigned
	}
	if _, known := e.Rates[product]; !known || !e.TeamProducts.Has(product) || !e.UserProducts.Has(product) {
		return ProductRestricted
	}
	return ""
}
