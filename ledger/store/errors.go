package store

import (
	"errors"
	"fmt"

	"tollgate/ledger/api"
)

// Error is a refusal the caller can act on, with the stable code of package api.
type Error struct {
	Code    string
	Message string
	Events  []api.Result // invalid_events: which events, and why
	Err     error        // what kind of refusal, for callers that answer it differently
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// ErrOtherTeam is a user id in use by another team. Only the super-admin may learn
// that, and which team: a team's admin is answered as for any id it may not use.
var ErrOtherTeam = errors.New("the user belongs to another team")

func errf(code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code is err's stable code, or api.CodeInternal for errors that are not refusals.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return api.CodeInternal
}
