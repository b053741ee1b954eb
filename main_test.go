package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tollgate/cli"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	code = cli.ExitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestVerbs(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"version"}, 0, "tollgate dev", ""},
		{[]string{"--version"}, 0, "tollgate dev", ""},
		{[]string{"--help"}, 0, "simulate", ""},
		{nil, 0, "Commands:", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"version", "extra"}, 2, "", "version takes no arguments"},
		{[]string{"simulate"}, 2, "", "simulate takes one timeline file"},
		{[]string{"simulate", "--help"}, 0, "Usage: tollgate simulate FILE", ""},
		{[]string{"simulate", "does-not-exist.yaml"}, 1, "", "no such file"},
		{[]string{"simulate", "examples/studio-month.yaml"}, 0, "mary@studio.example charged 10 tokens for Autodesk Revit (window renewed)", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("got exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("got stdout %q, want it to contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("got stderr %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestSimulateBadFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(f, []byte("products:\n  - {id: revit, rate: 10, colour: red}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "simulate", f)
	if code != 1 || !strings.Contains(errOut, "bad.yaml: line 2: field colour not found") {
		t.Errorf("got exit %d, stderr %q; want 1 and the file, line and field", code, errOut)
	}
}

// TestReadmeFirstCommand runs the built binary the way the README's first command does,
// with JSON output, and checks the month's totals add up.
func TestReadmeFirstCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tollgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "simulate", "examples/studio-month.yaml", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Charges []struct {
			Status  string `json:"status"`
			Debited int64  `json:"debited"`
		} `json:"charges"`
		Users map[string]int64 `json:"tokens_per_user"`
		Teams []struct {
			Team  string `json:"team"`
			Spent int64  `json:"spent"`
		} `json:"teams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var charged, perUser, perTeam int64
	for _, c := range res.Charges {
		if c.Status == "accepted" {
			charged += c.Debited
		}
	}
	for _, n := range res.Users {
		perUser += n
	}
	for _, b := range res.Teams {
		perTeam += b.Spent
	}
	if charged == 0 || charged != perUser || charged != perTeam {
		t.Errorf("got %d charged, %d over users, %d over teams; want them equal and non-zero", charged, perUser, perTeam)
	}
	if n, ok := res.Users["li@studio.example"]; !ok || n != 0 {
		t.Errorf("got tokens for li, who is not assigned: %d (listed %v); want 0, listed", n, ok)
	}
}
