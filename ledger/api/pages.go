package api

import "time"

// UseSummary is what one user did with one product over a span, counted by the ledger
// in one grouped query for the advisor: the UTC days with a charge, the days opened on a
// subscription without a charge, the tokens charged, and the first use ever (zero when
// the span holds only refused launches or ends).
type UseSummary struct {
	User        string
	Product     string
	ChargedDays int64
	SubDays     int64
	Tokens      int64
	First       time.Time
}

// DayChange is the net change of a team's balance on one UTC day.
type DayChange struct {
	Day    string // YYYY-MM-DD
	Change int64
}

// BalanceHistory is what the console's balance page reads: the balance before From, its
// change on each day of [From, To) that had one, and the team's packs.
type BalanceHistory struct {
	From, To time.Time
	Opening  int64
	Days     []DayChange
	Packs    []Pack
	Expiring []Pack // live packs with tokens left that expire within charge.Expiring
}
