package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parseError is a problem with a file's text, before any setting is looked at.
type parseError struct {
	line int // 1-based; 0 for the file as a whole
	msg  string
}

// parse turns one file's bytes into a YAML document node. It reports every failure with a
// line, which yaml.v3 does not always do (reader errors have none, and its parser, unlike
// its scanner, counts lines from 0), and treats an empty file as the half-written push it
// most likely is rather than as an empty config.
func parse(data []byte) (doc *yaml.Node, lines int, perr *parseError) {
	doc, text, perr := parseText(data)
	return doc, countLines(text), perr
}

func parseText(data []byte) (*yaml.Node, []byte, *parseError) {
	text, perr := normalize(data)
	if perr != nil {
		return nil, data, perr
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(text)) == 0:
		return nil, text, &parseError{msg: "the file is empty: a push still being written, or a failed one? It needs at least the settings of example.yaml"}
	case errors.Is(err, io.EOF):
		return nil, text, &parseError{msg: "the file has only comments and blank lines, no settings"}
	case err != nil:
		return nil, text, syntaxError(err, text)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, text, syntaxError(err, text)
	default:
		return nil, text, &parseError{line: max(extra.Line, 1), msg: "a second YAML document starts here (after ---): put all settings in one document"}
	}
	return &doc, text, nil
}

// normalize returns the text as UTF-8, transcoding UTF-16 (what Windows PowerShell 5 writes
// by default), and finds the bytes YAML forbids so that they are reported with a line.
func normalize(data []byte) ([]byte, *parseError) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return fromUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return fromUTF16(data[2:], true)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if lineBreak(r) && !(r == '\n' && i > 0 && data[i-1] == '\r') {
			line++
		}
		switch {
		case r == utf8.RuneError && size <= 1:
			return nil, &parseError{line: line, msg: fmt.Sprintf("byte 0x%02X is not UTF-8: save the file as UTF-8", data[i])}
		case r == 0:
			return nil, &parseError{line: line, msg: "the file holds NUL bytes: it looks cut off or corrupted (a half-written push?)"}
		case !yamlPrintable(r):
			return nil, &parseError{line: line, msg: fmt.Sprintf("control character %U is not allowed in YAML: remove it", r)}
		}
		i += size
	}
	return data, nil
}

// yamlPrintable is YAML 1.2's c-printable, the characters a YAML stream may hold.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

func fromUTF16(b []byte, bigEndian bool) ([]byte, *parseError) {
	if len(b)%2 != 0 {
		text, perr := fromUTF16(b[:len(b)-1], bigEndian)
		if perr != nil {
			return nil, perr
		}
		return nil, &parseError{line: bytes.Count(text, []byte("\n")) + 1, msg: "the file is UTF-16 with an odd number of bytes: it looks cut off (a half-written push?)"}
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	var out bytes.Buffer
	line := 1
	for _, r := range utf16.Decode(u) {
		if r == utf8.RuneError {
			return nil, &parseError{line: line, msg: "the file is not valid UTF-16: save it as UTF-8"}
		}
		if r == '\n' {
			line++
		}
		out.WriteRune(r)
	}
	return normalize(out.Bytes())
}

// yamlParserProblem tells the problems that yaml.v3's parser, as opposed to its scanner,
// reports; it reports their lines counted from 0.
func yamlParserProblem(msg string) bool {
	switch msg {
	case "did not find expected <stream-start>",
		"did not find expected <document start>",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found duplicate %TAG directive",
		"found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	// yaml.v3's own "expected X event but got Y".
	return strings.HasPrefix(msg, "expected ")
}

// syntaxError gives yaml.v3's error a reliable line and a hint a person can act on.
func syntaxError(err error, text []byte) *parseError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	switch {
	case yamlParserProblem(msg):
		line++
	case line == 0:
		// No line means yaml.v3 saw the problem on its first line (index 0), except for
		// the few errors raised outside its scanner and parser, which name a value.
		line = 1
		if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
			line = lineOf(text, "*"+strings.TrimSuffix(name, "' referenced"))
		}
	}
	lines := countLines(text)
	line = min(max(line, 1), max(lines, 1))
	if hint := syntaxHint(msg); hint != "" {
		msg += " (" + hint + ")"
	}
	if r, _ := utf8.DecodeLastRune(text); line == lines && !lineBreak(r) {
		msg += "; the file ends here without a line break: was it cut off mid-write?"
	}
	return &parseError{line: line, msg: "YAML syntax: " + msg}
}

func syntaxHint(msg string) string {
	switch {
	case strings.Contains(msg, "tab character"):
		return "indent with spaces, not tabs"
	case msg == "mapping values are not allowed in this context":
		return "check the indentation, and quote a value that holds ': '"
	case msg == "found character that cannot start any token":
		return "quote a value that starts with @, ` or %, and indent with spaces, not tabs"
	case strings.HasPrefix(msg, "did not find expected ',' or"):
		return "a [list] or {map} is not closed"
	case strings.Contains(msg, "end of stream"):
		return "a quote or bracket is not closed"
	}
	return ""
}

// lineOf is the line of the first occurrence of s in text, or 1.
func lineOf(text []byte, s string) int {
	return lineAt(text, max(bytes.Index(text, []byte(s)), 0))
}

// lineBreak tells the characters YAML ends a line with; it counts lines by them, so this
// file does too (a lone \r, as old Mac files have, is a line break).
func lineBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// lineAt is the line that byte off of text is on, counted as YAML does: \r\n is one
// break.
func lineAt(text []byte, off int) int {
	n := 1
	for i := 0; i < off; {
		r, size := utf8.DecodeRune(text[i:])
		if lineBreak(r) && !(r == '\n' && i > 0 && text[i-1] == '\r') {
			n++
		}
		i += size
	}
	return n
}

// countLines is how many lines text has; a last line without a break counts.
func countLines(text []byte) int {
	n := lineAt(text, len(text))
	if r, _ := utf8.DecodeLastRune(text); lineBreak(r) && n > 1 {
		n--
	}
	return n
}
