//go:build linux

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// doctor runs `tollgate doctor` against the rig's agent, as support would on the machine.
func doctor(t *testing.T, socket string) (string, int) {
	t.Helper()
	out, err := exec.Command(bins.Tollgate, "doctor", "--socket", socket).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestDoctor: a healthy machine, then each broken state doctor names, each with the line
// that says so and the exit code a script would test.
func TestDoctor(t *testing.T) {
	s := newSystem(t, "sqlite", 200)
	// The ledger and the agent share the clock file; "now" keeps the ledger's clock true.
	r := s.agent()
	r.WaitFor("the ledger", func(st localapi.Status) bool { return st.Ledger != nil && st.Ledger.Online })
	s.clock.Set(t, time.Now().UTC().Truncate(time.Second))
	r.WaitFor("the clock", func(st localapi.Status) bool { return st.Now.After(agenttest.Day1.Add(time.Hour)) })

	tests := []struct {
		name     string
		breakIt  func()
		socket   string
		want     []string
		wantExit int
	}{
		{name: "healthy", socket: r.Sock, want: []string{`(?m)^OK\s+agent\s+running`, `(?m)^OK\s+ledger\s+http://127\.0\.0\.1:\d+ online`, `(?m)^OK\s+clock\s+within`, `(?m)^OK\s+config\s+loaded`, `(?m)^OK\s+disk\s+`}},
		{name: "clock skew", socket: r.Sock, breakIt: func() {
			s.clock.Set(t, time.Now().UTC().Add(2*time.Hour).Truncate(time.Second))
		}, want: []string{`(?m)^WARN\s+clock\s+about 2h0m0s behind the ledger's`, `-> fix this computer's time`}},
		{name: "bad push", socket: r.Sock, breakIt: func() {
			if err := os.MkdirAll(filepath.Join(filepath.Dir(r.Config), "conf.d"), 0o755); err != nil {
				t.Fatal(err)
			}
			agenttest.Write(t, filepath.Join(filepath.Dir(r.Config), "conf.d", "50-bad.yaml"), "policy:\n  poll_interval: often\n")
			r.WaitFor("the refusal", func(st localapi.Status) bool { return st.Config.Err != "" })
		}, want: []string{`(?m)^FAIL\s+config\s+the last push was refused: .*50-bad\.yaml:2`}, wantExit: 1},
		{name: "ledger down", socket: r.Sock, breakIt: func() {
			s.ledger.Kill()
		}, want: []string{`(?m)^FAIL\s+ledger\s+http://\S+ is offline: nothing answers there \(connection refused\): is the ledger running\?`, `(?m)^WARN\s+clock\s+cannot compare`}, wantExit: 1},
		{name: "no agent", socket: filepath.Join(t.TempDir(), "none.sock"), want: []string{`(?m)^FAIL\s+agent\s+no agent answers at`, `-> start the service`}, wantExit: 1},
	}
	for _, tt := range tests {
		if tt.breakIt != nil {
			tt.breakIt()
		}
		out, code := doctor(t, tt.socket)
		for _, w := range tt.want {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("%s: got\n%s\nwant a line matching %s", tt.name, out, w)
			}
		}
		if code != tt.wantExit {
			t.Errorf("%s: got exit %d, want %d", tt.name, code, tt.wantExit)
		}
	}
}
