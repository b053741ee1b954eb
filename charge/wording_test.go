package charge_test

import (
	"testing"
	"time"

	"tollgate/charge"
)

func TestDenialSentences(t *testing.T) {
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		d    *charge.Decision
		want string
	}{
		{"no decision", nil, "Revit is not available to you."},
		{"not assigned", &charge.Decision{Reason: charge.NotAssigned},
			"You are not assigned to your team's tokens, so Revit cannot be charged to them."},
		{"restricted", &charge.Decision{Reason: charge.ProductRestricted},
			"Your administrator has not allowed Revit for you or your team."},
		{"too few tokens", &charge.Decision{Reason: charge.InsufficientTokens, Rate: 10, Available: 5},
			"A day of Revit costs 10 tokens and your team has 5 left."},
		{"overdrawn team", &charge.Decision{Reason: charge.InsufficientTokens, Rate: 10, Available: -15},
			"A day of Revit costs 10 tokens and your team has no tokens left."},
		{"user's monthly cap", &charge.Decision{Reason: charge.BudgetExceeded, Rate: 10,
			Budget: &charge.Budget{Team: "studio", User: "mary", Period: charge.PerMonth, Tokens: 80, Used: 75, From: month}},
			"You have used 75 of your 80 tokens this month, and a day of Revit costs 10 more. Ask your administrator to raise the cap or grant an extension."},
		{"team's product cap", &charge.Decision{Reason: charge.BudgetExceeded, Rate: 10,
			Budget: &charge.Budget{Team: "studio", Product: "revit", Period: charge.PerDay, Tokens: 20, Used: 20, From: month}},
			"Your team has used 20 of its 20 tokens for revit today, and a day of Revit costs 10 more. Ask your administrator to raise the cap or grant an extension."},
		{"cap unknown", &charge.Decision{Reason: charge.BudgetExceeded, Rate: 10},
			"A day of Revit would take you past a spending cap your administrator set."},
		{"offline three days", &charge.Decision{Reason: charge.OfflineTooLong, Offline: 3*24*time.Hour + time.Hour},
			"This computer has not reached the licence server for 3 days, so it cannot start products that cost tokens. Connect to the studio network and try again."},
		{"offline hours", &charge.Decision{Reason: charge.OfflineTooLong, Offline: 5*time.Hour + 10*time.Minute},
			"This computer has not reached the licence server for 5 hours, so it cannot start products that cost tokens. Connect to the studio network and try again."},
		{"offline minutes", &charge.Decision{Reason: charge.OfflineTooLong, Offline: 45*time.Minute + 20*time.Second},
			"This computer has not reached the licence server for 45m, so it cannot start products that cost tokens. Connect to the studio network and try again."},
		{"never online", &charge.Decision{Reason: charge.OfflineTooLong, Offline: 200 * 365 * 24 * time.Hour},
			"This computer has not reached the licence server yet, so it cannot start products that cost tokens. Connect to the studio network and try again."},
		{"journal unavailable", &charge.Decision{Reason: charge.JournalUnavailable},
			"This computer cannot record charges right now, so it cannot start Revit or other products that cost tokens. Products already open keep running, and products paid for or covered by a subscription still start."},
		{"a reason without words", &charge.Decision{Reason: "new_reason"}, "Revit is not available to you (new_reason)."},
	}
	for _, tt := range tests {
		if got := charge.Denial(tt.d, "Revit"); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTeamLeftAndRoughly(t *testing.T) {
	for _, tt := range []struct {
		available int64
		want      string
	}{{12, "12 left"}, {1, "1 left"}, {0, "no tokens left"}, {-15, "no tokens left"}} {
		if got := charge.TeamLeft(tt.available); got != tt.want {
			t.Errorf("TeamLeft(%d): got %q, want %q", tt.available, got, tt.want)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{72 * time.Hour, "3 days"}, {48 * time.Hour, "2 days"}, {47 * time.Hour, "47 hours"}, {2 * time.Hour, "2 hours"},
		{119 * time.Minute, "1h59m"}, {90 * time.Second, "2m"}, {10 * time.Minute, "10m"}} {
		if got := charge.Roughly(tt.d); got != tt.want {
			t.Errorf("Roughly(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}
