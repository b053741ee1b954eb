// Package api is the ledger's wire format: the JSON bodies of its /v1/ agent and admin
// endpoints, shared by the server, the typed client and the command line so that the
// three cannot drift apart.
package api

import (
	"time"

	"tollgate/charge"
)

// Error is the body of every answer that is not a success.
type Error struct {
	Code    string   `json:"code"`    // stable, for programs
	Message string   `json:"message"` // for a person: what was wrong and what to do
	Events  []Result `json:"events,omitempty"`
}

// ErrorBody wraps Error the way the server sends it: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Stable error codes.
const (
	CodeBadRequest      = "bad_request"      // malformed JSON, unknown fields, bad values
	CodeInvalidEvents   = "invalid_events"   // an ingest batch with events that cannot be applied; nothing stored
	CodeUnauthorized    = "unauthorized"     // no credential, or one the ledger does not know
	CodeForbidden       = "forbidden"        // a credential that may not do this
	CodeNotFound        = "not_found"        // no such thing in the caller's team
	CodeConflict        = "conflict"         // it exists already, or differs from what exists
	CodeSmallOrder      = "small_order"      // a pack below the minimum
	CodePartialTransfer = "partial_transfer" // packs move only whole
	CodeTooLarge        = "too_large"        // a body or batch over the limit
	CodeOverloaded      = "overloaded"       // too many requests in flight; retry after Retry-After
	CodePaced           = "paced"            // an event batch while as many are applied as may be; send it again after Retry-After
	CodeInternal        = "internal"
	CodeTooManyHolds    = "too_many_holds" // authorize: the device holds tokens for as many sessions as it may
	CodeWrongRate       = "wrong_rate"     // an ingested charge whose tokens are not the product's rate at its window's start
)

// Enroll is what a device sends to trade a team's enrollment token for its own credential.
type Enroll struct {
	Token string `json:"token"`
	Name  string `json:"name"` // the device's host name, for the admin's lists
	// Agent is the enrolling agent's version and backlog; nil from an older agent.
	Agent *AgentInfo `json:"agent,omitempty"`
}

// AgentInfo is what an agent tells the ledger about itself with each sync and at
// enrollment, for the admin's list of devices.
type AgentInfo struct {
	Version string `json:"version"`
	// Backlog counts the journal's entries still waiting for the ledger once the batch it
	// comes with is answered; BacklogAge is how old the oldest of them is, in seconds, by
	// the device's clock (an age, so a wrong clock does not shift it).
	Backlog    int64 `json:"backlog"`
	BacklogAge int64 `json:"backlog_age_seconds,omitempty"`
}

// Enrolled is the device's identity and the bearer credential for every later call. The
// ledger keeps only a hash of it: it cannot be shown again.
type Enrolled struct {
	Device     string `json:"device"`
	Team       string `json:"team"`
	Credential string `json:"credential"`
}

// Authorize asks whether a user may launch a product now.
type Authorize struct {
	User    string `json:"user"`
	Product string `json:"product"`
	// Hold names the hold to place when the launch enters grace; the same name again
	// replaces it, so a retried request holds once. Empty: the ledger picks one.
	Hold string `json:"hold,omitempty"`
}

// Authorized is the decision and, for a launch in grace, the hold placed for it.
type Authorized struct {
	Decision   charge.Decision `json:"decision"`
	Hold       string          `json:"hold,omitempty"`
	HoldTokens int64           `json:"hold_tokens,omitempty"`
	ServerTime time.Time       `json:"server_time"`
}

// Release frees a hold: the session ended inside its grace.
type Release struct {
	Hold string `json:"hold"`
}

// Event is one journaled effect of a device, sent for the ledger to apply or record. Its
// ID is unique on the device; a charged event also carries the business key of its window.
type Event struct {
	ID string `json:"id"`
	// Hold is the hold a charged or released event settles; empty means Effect.HoldID().
	Hold string `json:"hold,omitempty"`
	charge.Effect
}

// Ingest is a batch of events.
type Ingest struct {
	Events []Event `json:"events"`
	// DeviceNow is the device's clock when it sent the batch, in the frame its events'
	// times were stamped in. The ledger takes the difference from its own clock as the
	// device's skew and corrects the events' times by it, so that a workstation whose
	// clock is wrong still has its use charged, at the right time. Zero: no correction.
	DeviceNow time.Time `json:"device_now,omitzero"`
	// Agent is the sending agent's version and backlog; nil from an older agent. A batch
	// with no events and this set only reports it.
	Agent *AgentInfo `json:"agent,omitempty"`
}

// Statuses of an ingested event.
const (
	Accepted  = "accepted"  // applied (a charge debited) or recorded
	Duplicate = "duplicate" // seen before, by event id or by charge key: nothing debited again
	Folded    = "folded"    // a window of the same user and product paid elsewhere covers it
	Refused   = "refused"   // not applied; Code and Message say why
)

// Result is the ledger's answer for one event.
type Result struct {
	ID      string      `json:"id"`
	Status  string      `json:"status"`
	Code    string      `json:"code,omitempty"`
	Message string      `json:"message,omitempty"`
	Window  *charge.Key `json:"window,omitempty"` // folded, duplicate: the window that stands
}

// Ingested answers a batch, one result per event in the order sent.
type Ingested struct {
	Results []Result `json:"results"`
}
