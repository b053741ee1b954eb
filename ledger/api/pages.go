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

// UsageFilter narrows the console's usage page to one user, product or device (a device
// by its name, as the usage report shows it); an empty field matches everything.
type UsageFilter struct {
	User, Product, Device string
}

// UsageSum is one line of a usage total: the sessions opened, the UTC days with an
// accepted charge, and the tokens charged.
type UsageSum struct {
	Name     string
	Sessions int64
	Days     int64
	Tokens   int64
}

// UsageDay is the tokens charged for one product on one UTC day.
type UsageDay struct {
	Day     string // YYYY-MM-DD
	Product string
	Tokens  int64
}

// UsageTotals is what the console's usage page shows of a span, grouped by the ledger
// in SQL: the same figures as summing the usage report's rows that match the filter,
// without reading them. Users, Products and Devices are the choices of the filter: every
// one seen in the span, whatever the filter.
type UsageTotals struct {
	Users, Products, Devices []string
	Days                     []UsageDay // days and products with any use, by day then product
	PerUser, PerProduct      []UsageSum // by name
	PerTag                   []UsageSum // a user with several tags counts under each
	Total                    UsageSum
}
