package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportSeams holds the packages to the seams docs/agent.md draws, on every OS the binary
// is built for: what a person runs at their desk (the CLI's verbs in ctl, the notifier) talks
// to the daemon through agent/localapi and never links the daemon (package agent); and a
// launch event travels platform → agent → charge → journal → sync with no return trip, so
// none of those below the agent imports it, nor one further down the path one further up.
// Only `tollgate run` and `tollgate up` (this package and up) link the daemon.
func TestImportSeams(t *testing.T) {
	const agent = "tollgate/agent"
	tests := []struct {
		pkg        string
		mustNot    []string
		must       []string // so that a go list that lists nothing cannot pass
		whyMustNot string
	}{
		{"tollgate/ctl", []string{agent}, []string{"tollgate/agent/localapi"}, "the CLI's verbs talk to the daemon over its local API"},
		{"tollgate/agent/notifier", []string{agent}, []string{"tollgate/agent/localapi"}, "the notifier talks to the daemon over its local API"},
		{"tollgate/agent/localapi", []string{agent}, []string{"tollgate/platform"}, "the daemon answers the API through localapi.Backend"},
		{"tollgate/platform", []string{agent, "tollgate/charge", "tollgate/agent/journal", "tollgate/ledger/client"}, nil, "platform reports processes; it decides and keeps nothing"},
		{"tollgate/charge", []string{agent, "tollgate/agent/journal", "tollgate/platform", "tollgate/ledger/client", "tollgate/config"}, nil, "charge is the rules, pure: no I/O"},
		{"tollgate/agent/journal", []string{agent, "tollgate/agent/localapi", "tollgate/platform", "tollgate/ledger/client"}, []string{"tollgate/charge"}, "the journal keeps what the agent decided"},
		{"tollgate/ledger/client", []string{agent, "tollgate/agent/journal", "tollgate/platform"}, []string{"tollgate/charge"}, "sync sends what the journal holds"},
		{"tollgate/config", []string{agent, "tollgate/charge"}, nil, "configuration is read by the agent, not the other way"},
		{agent, nil, []string{"tollgate/platform", "tollgate/charge", "tollgate/agent/journal", "tollgate/ledger/client", "tollgate/agent/localapi"}, ""},
	}
	var pkgs []string
	for _, tt := range tests {
		pkgs = append(pkgs, tt.pkg)
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		deps := listDeps(t, goos, pkgs)
		for _, tt := range tests {
			got, ok := deps[tt.pkg]
			if !ok {
				t.Errorf("GOOS=%s: go list did not list %s", goos, tt.pkg)
				continue
			}
			for _, p := range tt.mustNot {
				if slices.Contains(got, p) {
					t.Errorf("GOOS=%s: %s imports %s, want it not to: %s", goos, tt.pkg, p, tt.whyMustNot)
				}
			}
			for _, p := range tt.must {
				if !slices.Contains(got, p) {
					t.Errorf("GOOS=%s: %s does not import %s, want it to (is go list answering?)", goos, tt.pkg, p)
				}
			}
		}
	}
}

// listDeps is each package's dependencies, direct and indirect, built for goos; tests' own
// imports are no part of them.
func listDeps(t *testing.T, goos string, pkgs []string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-f", `{{.ImportPath}}:{{join .Deps " "}}`}, pkgs...)...)
	cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("GOOS=%s go list: %v\n%s", goos, err, msg)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, list, _ := strings.Cut(line, ":")
		deps[pkg] = strings.Fields(list)
	}
	return deps
}
