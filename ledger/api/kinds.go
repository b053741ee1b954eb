package api

import "tollgate/charge"

// NoticeKind names a notification to a team's webhook; it is also its payload's "kind".
type NoticeKind string

const (
	NoticeLow                 = NoticeKind(charge.AlertLow)   // available tokens fell below the threshold
	NoticeEmpty               = NoticeKind(charge.AlertEmpty) // available tokens reached zero
	NoticeOverdraw NoticeKind = "overdraw"                    // a renewal took the pool into debt (rule 7)
	NoticeExpiring NoticeKind = "expiring"                    // packs expire within 90 days (charge.Expiring)
	NoticeBudget   NoticeKind = "budget"                      // a cap reached 80 % or 100 % (rule 13)
)

// MoveKind names a movement in a team's token history.
type MoveKind string

const (
	MovePurchase    MoveKind = "purchase"     // a pack bought
	MoveDebit       MoveKind = "debit"        // a charge taken (from a pack, or as debt)
	MoveForfeit     MoveKind = "forfeit"      // a pack's tokens expired
	MoveTransferOut MoveKind = "transfer_out" // a pack moved to another team
	MoveTransferIn  MoveKind = "transfer_in"  // a pack moved in from another team
	MoveDebtPaid    MoveKind = "debt_paid"    // a new pack paid the team's debt
)
