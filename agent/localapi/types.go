// Package localapi is the agent's local API: HTTP over a unix socket or a named pipe, for
// the CLI and the per-user notifier. It holds the wire types, the client, and the server's
// route table, limits and caller checks; the daemon (package agent) answers through the
// Backend interface. Clients import this package and never the daemon.
//
// Callers are identified by the OS (platform.PeerOf), never by what they say, once per
// connection: any local user may ask about their own launches; only an administrator may
// reload the configuration or read another user's data. Requests that carry Origin or
// Referer come from a browser and are refused, so no web page can reach the agent.
package localapi

import (
	"time"

	"tollgate/agent/journal"
	"tollgate/charge"
	"tollgate/config"
)

// Status is what `tollgate status` shows.
type Status struct {
	Device       string           `json:"device"`
	Now          time.Time        `json:"now"`
	Caller       string           `json:"caller"` // the licensing user asking
	Admin        bool             `json:"admin"`
	Sessions     []charge.Session `json:"sessions"`
	Available    *int64           `json:"available,omitempty"` // the caller's team's balance, as the agent knows it
	Budgets      []charge.Budget  `json:"budgets,omitempty"`   // the caller's caps (rule 13), as the agent knows them
	AsOf         time.Time        `json:"entitlement_as_of"`
	Backlog      int              `json:"sync_backlog"` // journaled effects not yet answered by the ledger
	Config       config.Health    `json:"config"`
	Source       string           `json:"process_source"`
	Gate         string           `json:"pre_exec_gate"`
	Rollbacks    int              `json:"clock_rollbacks"`
	Ledger       *LedgerStatus    `json:"ledger,omitempty"`
	Messages     []Message        `json:"messages"`
	AdminContact string           `json:"admin_contact,omitempty"`
	Journal      JournalHealth    `json:"journal"`
}

// LedgerStatus is what `tollgate status` shows of the ledger.
type LedgerStatus struct {
	URL         string    `json:"url"`
	Enrolled    bool      `json:"enrolled"`
	Online      bool      `json:"online"`
	LastContact time.Time `json:"last_contact,omitzero"`
	Error       string    `json:"error,omitempty"`
	// Refused counts the journaled effects the ledger refused; they are in the ledger's
	// dead-letter, where an admin re-sends them. LastRefusal is the last one's reason.
	Refused     int    `json:"refused,omitempty"`
	LastRefusal string `json:"last_refusal,omitempty"`
}

// JournalHealth is what `tollgate status` shows of the journal.
type JournalHealth struct {
	Writable bool      `json:"writable"`
	Problem  string    `json:"problem,omitempty"` // why it cannot be written, in words
	Since    time.Time `json:"since,omitzero"`
	Waiting  int       `json:"waiting,omitempty"` // records held in memory until it can
	// Damage lists the repairs the journal went through at start, oldest first.
	Damage []journal.Damage `json:"damage,omitempty"`
}

// CheckResult answers `tollgate check`.
type CheckResult struct {
	charge.Decision
	Name    string `json:"name"`
	Message string `json:"message"`
	Contact string `json:"contact,omitempty"`
}

// Message is what a person is told about one of their launches, in words a
// non-technical person understands: which product, why, what it costs, the balance, and
// whom to ask.
type Message struct {
	At      time.Time   `json:"at"`
	User    string      `json:"user"` // licensing user
	Product string      `json:"product"`
	Kind    MessageKind `json:"kind"`
	Title   string      `json:"title"`
	Body    string      `json:"body"`
	Urgent  bool        `json:"urgent,omitempty"`
	// Procs are, for idle_close, the processes asked to close (pid@created): the notifier
	// asks them again from the user's desktop, where a service cannot reach their windows.
	Procs []string `json:"procs,omitempty"`
}

// MessageKind says what a Message is about: the notifier, scripts and tests tell messages
// apart by it, so the words are part of the API.
type MessageKind string

// The kinds of Message.
const (
	KindDenied      MessageKind = "denied"       // a launch was refused
	KindGrace       MessageKind = "grace"        // a session started in its free minutes
	KindCharged     MessageKind = "charged"      // tokens were charged for a window
	KindRenewing    MessageKind = "renewing"     // a window ends soon and will be renewed
	KindIdleClosing MessageKind = "idle_closing" // an idle product will be closed at its renewal
	KindIdleClose   MessageKind = "idle_close"   // an idle product is asked to close now (Procs)
	KindIdleSaved   MessageKind = "idle_saved"   // an idle product closed: its renewal saved
	KindClosing     MessageKind = "closing"      // the pool cannot renew: the product closes soon
	KindClosed      MessageKind = "closed"       // the agent closed the product
	KindOffline     MessageKind = "offline"      // the agent lost the ledger
	KindLowBalance  MessageKind = "low_balance"  // the team's tokens are running low
	KindJournal     MessageKind = "journal"      // charges cannot be recorded, or can again
)

// ReloadResult answers `tollgate reload`: the files of the configuration now in force.
// Its fields are in the order the API has always written them.
type ReloadResult struct {
	Files    []string `json:"files"`
	Reloaded bool     `json:"reloaded"`
}

// Error is the agent's refusal: an HTTP status, a stable code that programs test, and a
// sentence for the person that says what to do. On the wire it is {"code","message"}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// The codes of Error. They are part of the API: scripts test them.
const (
	CodeBadRequest         = "bad_request"
	CodeBrowserRefused     = "browser_refused"
	CodeUnknownCaller      = "unknown_caller"
	CodeAdminOnly          = "admin_only"
	CodeOtherUser          = "other_user"
	CodeUnknownProduct     = "unknown_product"
	CodeConfigRefused      = "config_refused"
	CodeTooManyStreams     = "too_many_streams"
	CodeTooManyConnections = "too_many_connections"
	CodeInternal           = "internal"
	CodeTooManyReports     = "too_many_reports"
	CodeNotRecorded        = "not_recorded"
)
