package localapi

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// request is what a local API request asks, decoded strictly: the query may name a
// product and a user, once each, in printable text of sane length. Anything else is
// refused with a sentence, before any handler runs, so that nothing a caller sends
// reaches a log line or an answer unchecked.
type request struct {
	product string
	user    string
	idle    string // POST /v0/idle: how long the caller's session had no input, as a Go duration
}

// maxParam bounds a product id or user name: both are short identifiers.
const maxParam = 256

func decodeRequest(r *http.Request) (request, *Error) {
	if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
		return request{}, &Error{Status: http.StatusForbidden, Code: CodeBrowserRefused, Message: "the local API does not answer web pages"}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return request{}, badRequest("the query string does not decode")
	}
	var req request
	for k, vs := range q {
		var dst *string
		switch k {
		case "product":
			dst = &req.product
		case "user":
			dst = &req.user
		case "idle":
			dst = &req.idle
		default:
			return request{}, badRequest("unknown parameter " + printable(k) + "; the local API takes product, user and idle")
		}
		if len(vs) != 1 {
			return request{}, badRequest(k + " given more than once")
		}
		if !sane(vs[0]) {
			return request{}, badRequest(k + " must be printable text of at most 256 bytes")
		}
		*dst = vs[0]
	}
	return req, nil
}

func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: msg}
}

// sane reports whether s is printable UTF-8 of at most maxParam bytes.
func sane(s string) bool {
	if len(s) > maxParam || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// printable is s quoted for a message, cut short and with nothing unprintable in it.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return quote(strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s), "?"))
}

func quote(s string) string { return `"` + s + `"` }
