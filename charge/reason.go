package charge

// Reason says why a launch was allowed or denied. The set is closed: the agent, the ledger
// and the user's notifications all speak in these words.
type Reason string

// Reasons a launch is allowed.
const (
	Subscribed Reason = "subscription"
	PaidWindow Reason = "paid_window"
	InGrace    Reason = "grace"
)

// Reasons a launch is denied.
const (
	NotAssigned        Reason = "not_assigned"
	ProductRestricted  Reason = "product_restricted"
	InsufficientTokens Reason = "insufficient_tokens"
	OfflineTooLong     Reason = "offline_too_long"
	// JournalUnavailable: the device cannot record charges (its disk is full or failing),
	// so it refuses launches that would cost tokens until it can again.
	JournalUnavailable Reason = "journal_unavailable"
	// BudgetExceeded: the charge would take a user, product or team past a cap (rule 13).
	BudgetExceeded Reason = "budget_exceeded"
)

// Reasons a product is closed or renewed for its idleness (rule 4), not for a launch.
const (
	Idle       Reason = "idle"        // close: nobody used it for idle_after
	StayedOpen Reason = "stayed_open" // charged: asked to close for idleness, it stayed open
	// InUse: renewing: an idle close announced to the user (at the renewal or the nightly
	// close) is off, because they used the product since; it renews as usual.
	InUse Reason = "in_use"
)

// Reasons lists every reason, allowed ones first.
func Reasons() []Reason {
	return []Reason{Subscribed, PaidWindow, InGrace, NotAssigned, ProductRestricted, InsufficientTokens, OfflineTooLong, JournalUnavailable, BudgetExceeded}
}

// Allows reports whether a decision with this reason lets the product run.
func (r Reason) Allows() bool {
	return r == Subscribed || r == PaidWindow || r == InGrace
}

// Valid reports whether r is one of the closed set.
func (r Reason) Valid() bool {
	for _, x := range Reasons() {
		if r == x {
			return true
		}
	}
	return false
}
