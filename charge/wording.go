package charge

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The sentences a person reads about a refused launch. The agent shows them (notices,
// `tollgate check`, the pre-exec gate) and the simulator prints them, both from here, so
// what a rehearsal says is what the desk will see.

// Denial says why the launch of product (its display name) was refused, in words for
// the person who launched it: never a negative balance, never a Go error.
func Denial(d *Decision, product string) string {
	if d == nil {
		return product + " is not available to you."
	}
	switch d.Reason {
	case NotAssigned:
		return "You are not assigned to your team's tokens, so " + product + " cannot be charged to them."
	case ProductRestricted:
		return "Your administrator has not allowed " + product + " for you or your team."
	case InsufficientTokens:
		return fmt.Sprintf("A day of %s costs %d tokens and your team has %s.", product, d.Rate, TeamLeft(d.Available))
	case BudgetExceeded:
		if b := d.Budget; b != nil {
			used := b.String(b.From)
			return fmt.Sprintf("%s%s, and a day of %s costs %d more. Ask your administrator to raise the cap or grant an extension.", strings.ToUpper(used[:1]), used[1:], product, d.Rate)
		}
		return "A day of " + product + " would take you past a spending cap your administrator set."
	case OfflineTooLong:
		if d.Offline > 100*365*24*time.Hour {
			return "This computer has not reached the licence server yet, so it cannot start products that cost tokens. Connect to the studio network and try again."
		}
		return fmt.Sprintf("This computer has not reached the licence server for %s, so it cannot start products that cost tokens. Connect to the studio network and try again.", Roughly(d.Offline))
	case JournalUnavailable:
		return "This computer cannot record charges right now, so it cannot start " + product + " or other products that cost tokens. " +
			"Products already open keep running, and products paid for or covered by a subscription still start."
	}
	return product + " is not available to you (" + string(d.Reason) + ")."
}

// TeamLeft says a team's available tokens to a user: never a negative number (tokens
// held for sessions or owed are the admins' business), "no tokens left" instead.
func TeamLeft(available int64) string {
	if available <= 0 {
		return "no tokens left"
	}
	return strconv.FormatInt(available, 10) + " left"
}

// Roughly says a long duration the way a person would: "3 days", "5 hours", "45m".
func Roughly(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
