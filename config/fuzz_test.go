package config

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzDecode feeds one file's bytes to the decoder: it must never panic, every problem it
// reports must name the file and a line within it, and a YAML syntax error must name a
// line. The seeds in testdata/fuzz/FuzzDecode are half-written pushes, odd encodings and
// each kind of mistake.
func FuzzDecode(f *testing.F) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	const name = "/etc/tollgate/config.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(name, data)
		var doc yaml.Node
		syntaxErr := yaml.Unmarshal(data, &doc)
		if err == nil {
			if syntaxErr != nil {
				t.Fatalf("Parse accepted what yaml.v3 rejects (%v)", syntaxErr)
			}
			// A config that loads is usable.
			c.Match(`C:\Program Files\x.exe`, []string{"a"}, "windows")
			c.Match("/usr/bin/x", nil, "linux")
			c.User(`DOMAIN\user`, "")
			return
		}
		// At most this many lines, however YAML counts them (\r, NEL, LS and PS end a line).
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) +
			bytes.Count(data, []byte{0x85}) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
		var list []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		} else {
			list = []error{err}
		}
		for _, one := range list {
			var e *Error
			if !errors.As(one, &e) {
				if strings.HasPrefix(one.Error(), "and ") { // the "and N more problems" tail
					continue
				}
				t.Fatalf("Parse error %v (%T) is not an *Error", one, one)
			}
			if e.File != name || e.Line < 0 || e.Line > lines || e.Msg == "" {
				t.Fatalf("Parse error %q: want file %s, a line in 0..%d and a message", e, name, lines)
			}
		}
		var first *Error
		errors.As(err, &first)
		if syntaxErr != nil && first.Line < 1 {
			t.Fatalf("yaml.v3 says %v; Parse error %q names no line", syntaxErr, first)
		}
	})
}
