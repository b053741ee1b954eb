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
}

func (e *Error) Error() string { return e.Message }

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
