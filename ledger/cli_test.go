package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	tgcli "tollgate/cli"
	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/store/storetest"
)

// syncBuffer is written by the serving goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	ch chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.ch <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCLI runs 'ledger serve' and the admin verbs through Main, as the binary does.
func TestCLI(t *testing.T) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) {
			data := t.TempDir()
			db := storetest.URL(t, kind)
			ctx, cancel := context.WithCancel(context.Background())
			out := &syncBuffer{ch: make(chan struct{}, 1)}
			done := make(chan error, 1)
			go func() {
				done <- ledger.Main(ctx, out, io.Discard, []string{"serve", "--data", data, "--db", db, "--listen", "127.0.0.1:0"})
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			}()
			listening := regexp.MustCompile(`listening on (http://\S+)`)
			for !listening.MatchString(out.String()) {
				select {
				case <-out.ch:
				case err := <-done:
					t.Fatalf("serve ended: %v\n%s", err, out.String())
				}
			}
			url := listening.FindStringSubmatch(out.String())[1]
			fi, err := os.Stat(filepath.Join(data, ledger.TokenFile))
			must(t, err)
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("token file mode: got %v, want 0600", fi.Mode().Perm())
			}
			tok, err := os.ReadFile(filepath.Join(data, ledger.TokenFile))
			must(t, err)
			if !strings.Contains(out.String(), strings.TrimSpace(string(tok))) {
				t.Errorf("serve's output does not show the super-admin token")
			}
			run := func(args ...string) (string, error) {
				var b bytes.Buffer
				args = append(args, "--url", url, "--token", strings.TrimSpace(string(tok)))
				err := ledger.Main(context.Background(), &b, io.Discard, args)
				return b.String(), err
			}
			steps := []struct {
				args    []string
				want    string // in the output, or in the error when wantErr
				wantErr bool
			}{
				{[]string{"team", "create", "studio"}, "created team studio", false},
				{[]string{"team", "create", "other"}, "created team other", false},
				{[]string{"product", "add", "revit", "--rate", "10"}, "revit costs 10 tokens", false},
				{[]string{"pack", "buy", "--team", "studio", "--tokens", "99"}, "packs start at 100", true},
				{[]string{"pack", "buy", "--team", "studio", "--tokens", "150"}, "150 tokens for studio", false},
				{[]string{"user", "assign", "mary", "--team", "studio"}, "assigned true", false},
				{[]string{"subscription", "add", "mary", "--team", "studio", "--product", "revit", "--from", "2025-01-01"}, "1 subscriptions", false},
				{[]string{"restrict", "--team", "studio", "--products", "revit"}, "cover revit", false},
				{[]string{"settings", "--team", "studio", "--threshold", "30", "--webhook", "https://hooks.studio.example/hook"}, "low below 30", false},
				{[]string{"enroll-token", "create", "--team", "studio"}, "tge_", false},
				{[]string{"admin-token", "create", "--team", "studio"}, "tga_", false},
				{[]string{"device", "list", "--team", "studio"}, "DEVICE", false},
				{[]string{"team", "show", "studio"}, "150", false},
				{[]string{"team", "list", "--json"}, `"id": "other"`, false},
				{[]string{"user", "list", "--team", "studio"}, "revit from 2025-01-01", false},
				{[]string{"product", "list"}, "revit", false},
				{[]string{"notifications", "--team", "studio", "--json"}, "[", false},
				{[]string{"report", "usage", "--team", "studio", "--csv"}, "day,user,product,device", false},
				{[]string{"report", "tokens", "--team", "studio", "--csv", "--section", "packs"}, "pack,team,tokens,left", false},
				{[]string{"report", "tokens", "--team", "studio", "--json"}, `"balance"`, false},
				{[]string{"report", "tokens", "--team", "studio", "--json", "--section", "packs"}, `"expires"`, false},
				{[]string{"report", "tokens", "--team", "studio", "--section", "packs"}, "TOTAL", false},
				{[]string{"report", "tokens"}, "TOTAL   150", false},
				{[]string{"report", "usage"}, "TOTAL", false},
				{[]string{"report", "tokens", "--section", "packs", "--csv"}, "pack,team,tokens", false},
				{[]string{"report", "tokens", "--section", "weekly"}, "want one of daily", true},
				{[]string{"budget", "set", "--team", "studio", "--user", "mary", "--month-cost", "500"}, "has no token price", true},
				{[]string{"budget", "set", "--team", "studio", "--user", "mary", "--day", "5", "--month-cost", "500"}, "give one of", true},
				{[]string{"budget", "set", "--team", "studio", "--user", "mary", "--day-cost", "lots"}, "such as 120.50", true},
				{[]string{"price", "show", "--team", "studio"}, "no prices set", false},
				{[]string{"price", "set", "--team", "studio"}, "give --currency, --token-price or --subscription", true},
				{[]string{"price", "set", "--team", "studio", "--token-price", "lots"}, "such as 1.25", true},
				{[]string{"price", "set", "--team", "studio", "--token-price", "2000000"}, "from 0 to 1000000", true},
				{[]string{"price", "set", "--team", "studio", "--token-price", "12.50"}, "give the currency with the first price", true},
				{[]string{"price", "set", "--team", "studio", "--currency", "euro", "--token-price", "12.50"}, "three-letter ISO 4217 code", true},
				{[]string{"price", "set", "--team", "studio", "--currency", "EUR", "--subscription", "nosuch=10"}, `product "nosuch" is not in the catalogue`, true},
				{[]string{"price", "set", "--team", "studio", "--currency", "EUR", "--subscription", "revit"}, "PRODUCT=AMOUNT", true},
				{[]string{"price", "show", "--team", "studio"}, "no prices set", false}, // the refusals changed nothing
				{[]string{"price", "set", "--team", "studio", "--currency", "EUR", "--token-price", "12.50", "--subscription", "revit=250"}, "token               12.50 EUR\nsubscription revit  250.00 EUR a month", false},
				{[]string{"price", "show", "--team", "studio", "--json"}, `"token_milli": 12500`, false},
				{[]string{"price", "show", "--team", "other"}, "no prices set", false},
				{[]string{"budget", "set", "--team", "studio", "--user", "mary", "--month-cost", "500"}, "at most 40 tokens a month", false},
				{[]string{"budget", "list", "--team", "studio"}, "0.00 of 500.00 EUR", false},
				{[]string{"report", "tokens", "--team", "studio", "--jsonl", "--section", "history"}, `"kind":"purchase"`, false},
				{[]string{"report", "tokens", "--jsonl", "--section", "packs"}, `"left":150`, false},
				{[]string{"report", "tokens", "--team", "studio", "--jsonl", "--csv"}, "one of --json, --csv and --jsonl", true},
				{[]string{"pack", "buy", "--tokens", "100"}, "--team is required", true},
				{[]string{"pack", "frobnicate"}, "unknown ledger command", true},
				{[]string{"team", "create", "x", "--colour", "red"}, "--help", true},
			}
			for _, s := range steps {
				got, err := run(s.args...)
				switch {
				case s.wantErr && (err == nil || !strings.Contains(err.Error(), s.want)):
					t.Errorf("%v: got error %v, want one saying %q", s.args, err, s.want)
				case !s.wantErr && err != nil:
					t.Errorf("%v: %v", s.args, err)
				case !s.wantErr && !strings.Contains(got, s.want):
					t.Errorf("%v: got %q, want it to contain %q", s.args, got, s.want)
				}
			}
			var packs []api.Pack
			got, err := run("pack", "list", "--team", "studio", "--json")
			must(t, err)
			must(t, json.Unmarshal([]byte(got), &packs))
			got, err = run("pack", "transfer", "--team", "studio", "--pack", packs[0].ID, "--to", "other", "--tokens", "40")
			if err == nil || !strings.Contains(err.Error(), "move the whole pack") {
				t.Errorf("partial transfer: got %q, %v; want refused", got, err)
			}
			if got, err = run("pack", "transfer", "--team", "studio", "--pack", packs[0].ID, "--to", "other"); err != nil || !strings.Contains(got, "150 tokens to other") {
				t.Errorf("transfer: got %q, %v; want 150 moved", got, err)
			}
			var help bytes.Buffer
			if err := ledger.Main(context.Background(), &help, io.Discard, []string{"pack", "buy", "--help"}); err != nil || !strings.Contains(help.String(), "-tokens") {
				t.Errorf("pack buy --help: got %q, %v", help.String(), err)
			}
		})
	}
}

// TestEveryVerbHelps: each verb of 'tollgate ledger' answers --help with its usage, so
// that none declares a flag twice (one of its own named like --url or --token, which
// every admin verb has) or otherwise fails before it runs.
func TestEveryVerbHelps(t *testing.T) {
	var walk func(path []string, c *tgcli.Command)
	n := 0
	walk = func(path []string, c *tgcli.Command) {
		if len(c.Verbs) > 0 {
			for _, v := range c.Verbs {
				walk(append(slices.Clone(path), v.Name), v)
			}
			return
		}
		n++
		var out, errOut bytes.Buffer
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return ledger.Main(context.Background(), &out, &errOut, append(slices.Clone(path), "--help"))
		}()
		if help := out.String() + errOut.String(); err != nil || !strings.Contains(help, strings.Join(path, " ")) {
			t.Errorf("ledger %s --help: got %v\n%s\nwant its usage", strings.Join(path, " "), err, help)
		}
	}
	walk(nil, ledger.Command())
	if n < 20 {
		t.Errorf("got %d verbs, want the ledger's twenty-odd: is the walk reaching them?", n)
	}
}
