package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"tollgate/charge"
)

// Balance is a team's tokens at a moment.
type Balance struct {
	Unexpired int64 `json:"unexpired"` // left in live packs
	Held      int64 `json:"held"`      // set aside for sessions in grace
	Debt      int64 `json:"debt"`      // overdrawn by renewals, paid by the next pack
	Available int64 `json:"available"` // unexpired - held - debt
	Limit     int64 `json:"limit"`     // the low-balance threshold in tokens
	Low       bool  `json:"low"`
	Empty     bool  `json:"empty"`
}

// Text says the balance to an admin: what is available, never below zero; a shortfall
// (tokens held or owed beyond what the packs hold) as what the team owes.
func (b Balance) Text() string {
	if b.Available >= 0 {
		return fmt.Sprintf("%d tokens available", b.Available)
	}
	return fmt.Sprintf("none available: %d tokens short (debt %d, held %d, in packs %d); the next pack bought pays the debt first", -b.Available, b.Debt, b.Held, b.Unexpired)
}

// Team is a team with its settings and balance.
type Team struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Products  charge.Products  `json:"products"` // what its tokens cover; empty = all
	Threshold charge.Threshold `json:"threshold"`
	Webhook   string           `json:"webhook,omitempty"`
	Balance   Balance          `json:"balance"`
	// WebhookSecret signs the webhook's bodies; it is in the answer that set the
	// webhook and never again.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// NewTeam creates a team.
type NewTeam struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// BuyPack orders a pack of tokens.
type BuyPack struct {
	Tokens int64 `json:"tokens"`
}

// Pack is a pack with its expiry.
type Pack struct {
	charge.Pack
	Expires time.Time `json:"expires"`
}

// Transfer moves a whole pack to another team. Tokens, when given, must equal what is
// left in the pack: a guard against believing a partial move is possible.
type Transfer struct {
	To     string `json:"to"`
	Tokens int64  `json:"tokens,omitempty"`
}

// Product is an entry of the catalogue.
type Product struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Rate int64  `json:"rate"` // tokens per 24-hour window
}

// User is a licensing identity in a team.
type User struct {
	ID            string                `json:"id"`
	Team          string                `json:"team"`
	Assigned      bool                  `json:"assigned"` // to the team's token pool
	Products      charge.Products       `json:"products"` // what the user may use; empty = all
	Subscriptions []charge.Subscription `json:"subscriptions"`
}

// PutUser assigns a user to a team.
type PutUser struct {
	Assigned *bool           `json:"assigned,omitempty"` // nil: true
	Products charge.Products `json:"products,omitempty"`
}

// Restrictions sets which products a team's tokens cover; empty or ["*"] = all,
// including products added later.
type Restrictions struct {
	Products charge.Products `json:"products"`
}

// Settings changes a team's low-balance threshold and webhook; nil fields stay.
type Settings struct {
	ThresholdAbsolute *int64  `json:"threshold_absolute,omitempty"`
	ThresholdPercent  *int64  `json:"threshold_percent,omitempty"`
	Webhook           *string `json:"webhook,omitempty"`
}

// Device is an enrolled workstation.
type Device struct {
	ID       string    `json:"id"`
	Team     string    `json:"team"`
	Name     string    `json:"name"`
	Enrolled time.Time `json:"enrolled"`
	LastSeen time.Time `json:"last_seen"` // the last call of any kind, to the minute
	// LastSync is when the device last sent its journal (or reported that it had nothing
	// to send); zero before its first sync.
	LastSync time.Time `json:"last_sync,omitzero"`
	// Version is the agent's version; "" until an agent that reports it has synced.
	Version string `json:"version,omitempty"`
	// Backlog is how many journal entries the device still had to send after its last
	// sync, and BacklogSince when the oldest of them happened (zero when none).
	Backlog      int64     `json:"backlog"`
	BacklogSince time.Time `json:"backlog_since,omitzero"`
	// OfflineSeconds is how long since the device was last seen, and BacklogAgeSeconds how
	// old the oldest entry of its backlog is, both at the ledger's time of the answer.
	OfflineSeconds    int64 `json:"offline_seconds"`
	BacklogAgeSeconds int64 `json:"backlog_age_seconds,omitempty"`
}

// Ago says a duration the way the console and the CLI's tables do: "3 hours", "12 days".
func Ago(d time.Duration) string {
	n, unit := int64(d/(24*time.Hour)), "day"
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		n, unit = int64(d/time.Minute), "minute"
	case d < 48*time.Hour:
		n, unit = int64(d/time.Hour), "hour"
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// BacklogText says what a device had left to send at its last report, after Age.
func (d Device) BacklogText() string {
	n := strconv.FormatInt(d.Backlog, 10) + " entries"
	if d.Backlog == 1 {
		n = "1 entry"
	}
	switch {
	case d.Version == "" && d.LastSync.IsZero():
		return "not reported"
	case d.Backlog == 0:
		return "none"
	case !d.BacklogSince.IsZero():
		return n + ", the oldest " + Ago(time.Duration(d.BacklogAgeSeconds)*time.Second) + " old"
	}
	return n
}

// Age fills the durations of a device's answer at now.
func (d *Device) Age(now time.Time) {
	secs := func(t time.Time) int64 {
		if t.IsZero() || t.After(now) {
			return 0
		}
		return int64(now.Sub(t) / time.Second)
	}
	d.OfflineSeconds, d.BacklogAgeSeconds = secs(d.LastSeen), secs(d.BacklogSince)
}

// NewEnrollToken asks for an enrollment token valid for ValidFor (a Go duration such as
// "720h"; empty: 30 days).
type NewEnrollToken struct {
	ValidFor string `json:"valid_for,omitempty"`
}

// Token is a secret shown once: an enrollment token or an admin token.
type Token struct {
	Token   string    `json:"token"`
	Team    string    `json:"team"`
	Expires time.Time `json:"expires,omitzero"`
}

// NewAdminToken asks for an admin token scoped to one team.
type NewAdminToken struct {
	Name string `json:"name,omitempty"`
}

// Notification is a notice to a team's webhook and how its delivery went.
type Notification struct {
	ID        int64           `json:"id"`
	Team      string          `json:"team"`
	Kind      NoticeKind      `json:"kind"`
	Payload   json.RawMessage `json:"payload"`
	Created   time.Time       `json:"created"`
	Attempts  int64           `json:"attempts"`
	Delivered time.Time       `json:"delivered,omitzero"`
	GaveUp    bool            `json:"gave_up,omitempty"`
	LastError string          `json:"last_error,omitempty"`
}

// Expiring is the notice about a team's tokens that expire within 90 days.
type Expiring struct {
	Team  string `json:"team"`
	Packs []Pack `json:"packs"`
}

// UsageRow is one line of the usage report: a user's use of a product on a device on a
// day (UTC).
type UsageRow struct {
	Day          string `json:"day"`
	User         string `json:"user"`
	Product      string `json:"product"`
	Device       string `json:"device"`
	Sessions     int64  `json:"sessions"`     // sessions opened
	Subscription int64  `json:"subscription"` // of which covered by a subscription
	PaidWindow   int64  `json:"paid_window"`  // of which inside a window already paid
	Denied       int64  `json:"denied"`       // launches refused
	UseSeconds   int64  `json:"use_seconds"`  // use in sessions that ended
	Charges      int64  `json:"charges"`      // windows paid
	Tokens       int64  `json:"tokens"`       // tokens charged
	Duplicates   int64  `json:"duplicates"`   // charges refused as duplicates or folded
}

// TokenDay is the tokens charged to a user for a product on a day (UTC).
type TokenDay struct {
	Day     string `json:"day"`
	Team    string `json:"team"`
	User    string `json:"user"`
	Product string `json:"product"`
	Charges int64  `json:"charges"`
	Tokens  int64  `json:"tokens"`
}

// IdleDay is, for one day (of the window's start), user and product, what idle products
// cost and what closing them saved (rule 4, renewal_when_idle): renewals charged while
// nobody used the product, and renewals not charged because it was closed.
type IdleDay struct {
	Day          string `json:"day"`
	Team         string `json:"team"`
	User         string `json:"user"`
	Product      string `json:"product"`
	IdleRenewals int64  `json:"idle_renewals"`
	IdleTokens   int64  `json:"idle_tokens"` // spent on those renewals
	IdleCloses   int64  `json:"idle_closes"`
	SavedTokens  int64  `json:"saved_tokens"` // what the renewals not charged would have cost
}

// Movement is one line of the append-only ledger, with the team's balance after it.
type Movement struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Team    string    `json:"team"`
	Pack    string    `json:"pack,omitempty"`
	Kind    MoveKind  `json:"kind"`
	Tokens  int64     `json:"tokens"`
	Debt    int64     `json:"debt,omitempty"`
	Ref     string    `json:"ref,omitempty"`
	Balance int64     `json:"balance"` // tokens in the team's packs less debt, after this movement
}

// Refusal is a charge the ledger did not debit: a duplicate of, or folded into, a
// window already paid, or refused.
type Refusal struct {
	At      time.Time `json:"at"`
	Device  string    `json:"device"`
	Event   string    `json:"event"`
	User    string    `json:"user"`
	Product string    `json:"product"`
	Start   time.Time `json:"start"`
	Tokens  int64     `json:"tokens"`
	Status  string    `json:"status"`
	Message string    `json:"message,omitempty"`
}

// TokenReport is the token usage of a team.
type TokenReport struct {
	Team     string     `json:"team"`
	From     time.Time  `json:"from"`
	To       time.Time  `json:"to"`
	Daily    []TokenDay `json:"daily"`
	History  []Movement `json:"history"`
	Packs    []Pack     `json:"packs"`
	Expiring []Pack     `json:"expiring"` // live packs expiring within 90 days
	Refused  []Refusal  `json:"refused"`
	Idle     []IdleDay  `json:"idle"`
	Balance  Balance    `json:"balance"`
}

// DeadLetter is an event the ledger refused, kept until an admin re-sends it: a charge is
// use that happened, and is never dropped without a trace.
type DeadLetter struct {
	Device       string        `json:"device"`
	ID           string        `json:"id"`
	Team         string        `json:"team"`
	Kind         string        `json:"kind"`
	User         string        `json:"user"`
	Product      string        `json:"product"`
	At           time.Time     `json:"at"`
	Tokens       int64         `json:"tokens"`
	Skew         time.Duration `json:"skew"` // the device's clock minus the ledger's, as sent
	Code         string        `json:"code"`
	Message      string        `json:"message"`
	FirstRefused time.Time     `json:"first_refused"`
	LastRefused  time.Time     `json:"last_refused"`
	Attempts     int64         `json:"attempts"`
	Resolved     time.Time     `json:"resolved,omitzero"`
	Resolution   string        `json:"resolution,omitempty"` // the status of the re-send that took it
}

// Retried answers a re-send of dead letters: each one's new result.
type Retried struct {
	Results []Result `json:"results"`
}

// SetBudget sets a cap (rule 13): on the team when User and Product are empty, else on
// one user or one product of it.
type SetBudget struct {
	User    string        `json:"user,omitempty"`
	Product string        `json:"product,omitempty"`
	Period  charge.Period `json:"period"`
	Tokens  int64         `json:"tokens"`
	// CostMilli gives the cap in money instead, in thousandths of the team's currency: it
	// is turned into the whole tokens it buys at the team's token price when it is set,
	// and kept in tokens from then on (a later price change does not move it).
	CostMilli int64 `json:"cost_milli,omitempty"`
}

// ExtendBudget raises a scope's caps by Tokens until Until, once.
type ExtendBudget struct {
	User    string    `json:"user,omitempty"`
	Product string    `json:"product,omitempty"`
	Tokens  int64     `json:"tokens"`
	Until   time.Time `json:"until"`
}

// BudgetNotice is the payload of a "budget" notification: a cap reached Level percent.
type BudgetNotice struct {
	Kind   NoticeKind    `json:"kind"` // NoticeBudget
	Level  int64         `json:"level"`
	Budget charge.Budget `json:"budget"`
	Limit  int64         `json:"limit"`
	At     time.Time     `json:"at"`
}
