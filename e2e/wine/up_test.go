//go:build linux && wine

package wine

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
)

var (
	upPipe    = regexp.MustCompile(`(?m)^\s+local API\s+(\S+)`)
	paidAsAny = regexp.MustCompile(`(?m)^\s+\S+\s+revit\s+paid\s`)
)

// TestUpUnderWine runs `tollgate.exe up` as its own Windows program, the way the README's
// first steps do: the ledger on SQLite and the agent in one process, the agent on a named pipe
// of its own (before, up built a socket path in the data folder and failed with "Invalid
// name"); the commands it suggests pasteable into cmd.exe; then `tollgate.exe status` and
// `check` as up prints them, with no --socket,
// which find up's pipe through the user's registration; a started Revit.exe shown, charged
// after the grace on the test clock and the balance shown by up, and status showing it paid.
func TestUpUnderWine(t *testing.T) {
	w := newWorkstation(t)
	clock := agenttest.NewClock(t, t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := filepath.Join(w.dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	revit := filepath.Join(w.dir, "Revit.exe")
	b, err := os.ReadFile(bins.product)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(revit, b, 0o755); err != nil {
		t.Fatal(err)
	}

	up := w.start("up", bins.exe, "up", "--data", winPath(data), "--listen", addr, "--clock-file", winPath(clock.Path))
	upOut := func() string { o, e := up.output(); return o + e }
	shows := func(want string) func() string {
		return func() string {
			if !strings.Contains(upOut(), want) {
				return fmt.Sprintf("up printed %q, want %q", upOut(), want)
			}
			return ""
		}
	}
	w.waitFor("up to watch launches", 90*time.Second, up, shows("Watching launches"))
	m := upPipe.FindStringSubmatch(upOut())
	if m == nil || !strings.HasPrefix(m[1], `\\.\pipe\tollgate-up-`) {
		t.Fatalf("up printed:\n%s\nwant its local API on a named pipe \\\\.\\pipe\\tollgate-up-...", upOut())
	}
	// What up suggests must paste into cmd.exe: the path as Windows writes it, no sh quoting,
	// no VAR=value prefix (before, up printed 'Z:\...\tollgate.exe' status).
	exe := winPath(bins.exe)
	for _, want := range []string{"\n  " + exe + " status\n", "\n  " + exe + " check revit\n", "\n  " + exe + " ledger report tokens --team studio --url http://" + addr + " --token "} {
		if !strings.Contains(upOut(), want) {
			t.Errorf("up printed:\n%s\nwant it to suggest %q", upOut(), strings.TrimSpace(want))
		}
	}

	// As up suggests, with no --socket. The first call may reach Wine's unserved first pipe
	// instance and time out clearly; the wait tries again.
	w.waitFor("status to reach up's agent", 60*time.Second, up, func() string {
		stdout, stderr, code := w.tollgate("status")
		if code != 0 || !strings.Contains(stdout, "ledger         http://"+addr+" (online)") {
			return fmt.Sprintf("got exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		return ""
	})
	w.start("revit", revit)
	w.waitFor("up to show Revit's start", 30*time.Second, up, shows("Autodesk Revit started"))
	clock.Set(t, clock.Now.Add(6*time.Minute))
	w.waitFor("up to show the charge", 60*time.Second, up, shows("Autodesk Revit: 10 tokens charged"))
	w.waitFor("up to show the balance", 30*time.Second, up, shows("190 tokens available"))
	w.waitFor("status to show revit paid and nothing to sync", 60*time.Second, up, func() string {
		stdout, stderr, code := w.tollgate("status")
		if code != 0 || !paidAsAny.MatchString(stdout) || !syncedAll.MatchString(stdout) {
			return fmt.Sprintf("got exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		return ""
	})
	if stdout, stderr, code := w.tollgate("check", "revit"); code != 0 || !strings.HasPrefix(stdout, "Autodesk Revit: allowed") {
		t.Errorf("check revit while paid: got exit %d, stdout %q, stderr %q, want allowed", code, stdout, stderr)
	}
	if t.Failed() {
		t.Logf("up printed:\n%s", upOut())
	}
}
