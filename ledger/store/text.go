package store

import (
	"unicode"
	"unicode/utf8"

	"tollgate/ledger/api"
)

// Bounds on the free text the ledger keeps.
const (
	MaxName = 255 // names of teams, products, devices and admin tokens
	MaxText = 512 // hold names, event ids, reasons
)

// checkText is the one rule for free text, the same for both stores: valid UTF-8, no
// NUL or other control characters (PostgreSQL cannot keep a NUL in TEXT, SQLite can;
// and a line break in a name breaks every list an admin reads), at most max bytes, and
// not empty when required.
func checkText(what, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return errf(api.CodeBadRequest, "%s: missing; give 1 to %d bytes of text", what, max)
	case len(s) > max:
		return errf(api.CodeBadRequest, "%s: %d bytes; give at most %d", what, len(s), max)
	case !utf8.ValidString(s):
		return errf(api.CodeBadRequest, "%s %q: not valid UTF-8; send text in UTF-8", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errf(api.CodeBadRequest, "%s %q: control characters (such as NUL, tab or a line break) are not allowed", what, s)
		}
	}
	return nil
}
