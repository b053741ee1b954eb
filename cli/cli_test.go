package cli

import (
	"bytes"
	"context"
	"flag"
	"slices"
	"strings"
	"testing"
)

// TestRunParsesLikePeopleType: flags before or after arguments, "--" passed untouched to
// a Dash verb, and optional flags that know whether they were given.
func TestRunParsesLikePeopleType(t *testing.T) {
	var got []string
	var json bool
	var limit OptInt
	var hook OptString
	root := &Command{Name: "tg", Verbs: []*Command{
		{Name: "launch", Dash: true,
			Flags: func(fs *flag.FlagSet) { fs.BoolVar(&json, "json", false, "") },
			Run:   func(_ context.Context, _ Env, args []string) error { got = args; return nil }},
		{Name: "set", Args: NoArgs,
			Flags: func(fs *flag.FlagSet) { fs.Var(&limit, "limit", ""); fs.Var(&hook, "hook", "") },
			Run:   func(context.Context, Env, []string) error { return nil }},
	}}
	tests := []struct {
		args      []string
		wantArgs  []string
		wantJSON  bool
		wantLimit OptInt
		wantHook  OptString
		wantCode  int
	}{
		{args: []string{"launch", "revit", "--json", "--", "prog", "--json", "x"}, wantArgs: []string{"revit", "--", "prog", "--json", "x"}, wantJSON: true},
		{args: []string{"launch", "--", "prog", "--json"}, wantArgs: []string{"--", "prog", "--json"}},
		{args: []string{"set", "--hook", ""}, wantHook: OptString{Given: true}},
		{args: []string{"set", "--limit", "-1"}, wantLimit: OptInt{Value: -1, Given: true}},
		{args: []string{"set", "--limit", "lots"}, wantCode: ExitUsage},
		{args: []string{"set", "extra"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		got, json, limit, hook = nil, false, OptInt{}, OptString{}
		var errb bytes.Buffer
		code := ExitCode(Run(context.Background(), root, "tg", Env{Stdout: &bytes.Buffer{}, Stderr: &errb}, tt.args), &errb)
		if code != tt.wantCode || !slices.Equal(got, tt.wantArgs) || json != tt.wantJSON || limit != tt.wantLimit || hook != tt.wantHook {
			t.Errorf("%q: got exit %d, args %q, json %v, limit %+v, hook %+v (stderr %q); want %d, %q, %v, %+v, %+v",
				tt.args, code, got, json, limit, hook, errb.String(), tt.wantCode, tt.wantArgs, tt.wantJSON, tt.wantLimit, tt.wantHook)
		}
	}
}

// TestGroupGivenAFlag: a flag where a group's command goes is a mistake in the command line
// that names the flag and the group's commands, not an unknown command "pack --team".
func TestGroupGivenAFlag(t *testing.T) {
	noop := func(context.Context, Env, []string) error { return nil }
	root := &Command{Name: "tg", Verbs: []*Command{{Name: "ledger", Verbs: []*Command{{Name: "pack", Verbs: []*Command{
		{Name: "buy", Run: noop}, {Name: "list", Run: noop},
	}}}}}}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ledger", "pack", "--team", "studio"}, "tollgate: unknown flag --team; ledger pack takes a command first: buy, list\nRun 'tg ledger pack --help' for usage.\n"},
		{[]string{"--json"}, "tollgate: unknown flag --json; tg takes a command first: ledger\nRun 'tg --help' for usage.\n"},
		{[]string{"ledger", "pack", "sell"}, "tollgate: unknown ledger command \"pack sell\"\nRun 'tg ledger pack --help' for usage.\n"},
	}
	for _, tt := range tests {
		var errb bytes.Buffer
		code := ExitCode(Run(context.Background(), root, "tg", Env{Stdout: &bytes.Buffer{}, Stderr: &errb}, tt.args), &errb)
		if code != ExitUsage || errb.String() != tt.want {
			t.Errorf("%q: got exit %d, stderr %q; want %d and %q", tt.args, code, errb.String(), ExitUsage, tt.want)
		}
	}
}

// TestHelpShowsNoSentinels: an optional flag shows no default; a real default shows unquoted.
func TestHelpShowsNoSentinels(t *testing.T) {
	var hook OptString
	var limit OptInt
	var where string
	c := &Command{Name: "set", Summary: "set things", Flags: func(fs *flag.FlagSet) {
		fs.Var(&hook, "hook", "the `URL` to call")
		fs.Var(&limit, "limit", "the limit")
		fs.StringVar(&where, "where", "127.0.0.1:7480", "address")
	}}
	var b bytes.Buffer
	c.PrintUsage(&b, "tg set")
	want := "Usage: tg set\n\nSet things.\n\nFlags:\n  --hook string\n    \tthe URL to call\n  --limit int\n    \tthe limit\n  --where string\n    \taddress (default 127.0.0.1:7480)\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), `"`) {
		t.Errorf("got a quoted default in:\n%s", b.String())
	}
}
