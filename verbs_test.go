package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tollgate/cli"
)

// verbPath is one verb or group of the binary, as typed after "tollgate".
type verbPath struct {
	args []string
	cmd  *cli.Command
}

// everyVerb walks the verb table, the ledger's verbs and groups included.
func everyVerb(c *cli.Command, args []string) []verbPath {
	var out []verbPath
	for _, v := range c.Verbs {
		p := append(append([]string(nil), args...), v.Name)
		out = append(out, verbPath{p, v})
		out = append(out, everyVerb(v, p)...)
	}
	return out
}

// TestEveryVerbHelpAndMistakes holds every verb, root and ledger, to the same rules: --help
// prints its usage once on stdout and exits 0; an unknown flag or a missing required flag is
// one line naming it, a pointer to the verb's --help, and exit 2.
func TestEveryVerbHelpAndMistakes(t *testing.T) {
	verbs := everyVerb(commands(), nil)
	if len(verbs) < 40 {
		t.Fatalf("got %d verbs, want the root's and the ledger's (at least 40)", len(verbs))
	}
	for _, v := range verbs {
		name := strings.Join(v.args, " ")
		t.Run(name+" --help", func(t *testing.T) {
			out, errOut, code := runCLI(t, append(v.args, "--help")...)
			if code != 0 || errOut != "" {
				t.Errorf("got exit %d, stderr %q; want 0 and nothing", code, errOut)
			}
			heading := "Usage: tollgate " + name
			if len(v.cmd.Verbs) > 0 {
				heading = "  tollgate " + name + " <command> [arguments]"
			}
			if n := strings.Count(out, heading); n != 1 {
				t.Errorf("got %q %d times in:\n%s\nwant it once", heading, n, out)
			}
			if strings.ContainsRune(out, 0) || strings.Contains(out, `\x00`) || strings.Contains(out, `(default "`) {
				t.Errorf("got help with a NUL or a Go-quoted default:\n%s", out)
			}
			if len(v.cmd.Verbs) > 0 {
				for _, sub := range v.cmd.Verbs {
					if !strings.Contains(out, sub.Name) {
						t.Errorf("got group help:\n%s\nwant it to list %q", out, sub.Name)
					}
				}
			}
		})
		if len(v.cmd.Verbs) > 0 {
			continue
		}
		t.Run(name+" --no-such-flag", func(t *testing.T) {
			out, errOut, code := runCLI(t, append(v.args, "--no-such-flag")...)
			want := "tollgate: unknown flag --no-such-flag\nRun 'tollgate " + name + " --help' for usage.\n"
			if code != 2 || errOut != want || out != "" {
				t.Errorf("got exit %d, stderr %q, stdout %q; want 2 and %q", code, errOut, out, want)
			}
		})
		for _, req := range v.cmd.Required {
			t.Run(name+" without --"+req, func(t *testing.T) {
				// Every other required flag is given, so the one missing is what is said.
				args := append([]string(nil), v.args...)
				for _, other := range v.cmd.Required {
					if other != req {
						args = append(args, "--"+other, "x")
					}
				}
				_, errOut, code := runCLI(t, args...)
				want := "tollgate: --" + req + " is required\nRun 'tollgate " + name + " --help' for usage.\n"
				if code != 2 || errOut != want {
					t.Errorf("got exit %d, stderr %q; want 2 and %q", code, errOut, want)
				}
			})
		}
	}
}

// TestGroupHelp: a group's --help lists its verbs, as the ledger's list names them.
func TestGroupHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"ledger", "pack", "--help"}, []string{"buy ", "list ", "transfer "}},
		{[]string{"ledger", "report", "-h"}, []string{"usage ", "tokens ", "refused ", "advisor ", "forecast "}},
		{[]string{"ledger", "--help"}, []string{"pack buy ", "team create ID ", "serve ", "report forecast "}},
		{[]string{"ledger"}, []string{"pack buy "}},
		{[]string{"help"}, []string{"ledger ", "simulate FILE "}},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, tt.args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: got exit %d, stderr %q; want 0", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, "\n  "+w) {
				t.Errorf("%v: got:\n%s\nwant a line for %q", tt.args, out, w)
			}
		}
	}
}

// TestMistakeExitCodes runs the built binary: mistakes in the command line exit 2, as the
// README promises, the ledger's verbs included.
func TestMistakeExitCodes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tollgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"ledger", "team", "create", "x", "--colour", "red"}, 2, "unknown flag --colour"},
		{[]string{"ledger", "pack", "buy", "--tokens", "many", "--team", "t"}, 2, `invalid value "many" for flag --tokens`},
		{[]string{"ledger", "pack", "buy", "--tokens", "100"}, 2, "--team is required"},
		{[]string{"ledger", "team", "create"}, 2, "ledger team create takes one team id (got 0 arguments)"},
		{[]string{"ledger", "pack", "frobnicate"}, 2, `unknown ledger command "pack frobnicate"`},
		{[]string{"ledger", "serve", "extra"}, 2, "ledger serve takes no arguments"},
		{[]string{"ledger", "report", "tokens", "--json", "--csv", "--token", "t", "--url", "http://127.0.0.1:1"}, 2, "give one of --json, --csv and --jsonl"},
		{[]string{"check"}, 2, "check takes one product"},
		{[]string{"status", "--jsn"}, 2, "unknown flag --jsn"},
		{[]string{"launch", "revit"}, 2, "after --, the command to start"},
		{[]string{"ledger", "pack", "add", "--help"}, 2, "Run 'tollgate ledger pack --help' for usage."},
		{[]string{"ledger", "settings", "--help"}, 0, ""},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		var errb strings.Builder
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.wantCode || !strings.Contains(errb.String(), tt.wantErr) {
			t.Errorf("%v: got exit %d, stderr %q; want %d and %q", tt.args, code, errb.String(), tt.wantCode, tt.wantErr)
		}
		if lines := strings.Count(errb.String(), "\n"); tt.wantCode == 2 && lines != 2 {
			t.Errorf("%v: got %d lines on stderr, want the mistake and where help is", tt.args, lines)
		}
	}
}
