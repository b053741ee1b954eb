package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/agent/localapi"
	"tollgate/cli"
	"tollgate/ctl"
	"tollgate/platform"
)

// TestMain lets the test binary stand in for a product: copied to Revit.exe and started with
// TOLLGATE_TEST_PRODUCT=1, it waits to be closed.
func TestMain(m *testing.M) {
	if os.Getenv("TOLLGATE_TEST_PRODUCT") == "1" {
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// wineTempDir is t.TempDir, removed file by file: under Wine 8 os.RemoveAll fails
// ("Invalid function") where os.Remove works.
func wineTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "tollgate-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error { paths = append(paths, p); return nil })
		for i := len(paths) - 1; i >= 0; i-- {
			os.Remove(paths[i])
		}
	})
	return dir
}

// syncBuffer is what `up` prints, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until out shows want, or fails the test after d.
func waitFor(t *testing.T, out *syncBuffer, want string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("after %v up printed:\n%s\nwant %q", d, out, want)
}

// startProduct starts a copy of this test binary named exe that waits to be closed.
func startProduct(t *testing.T, dir, exe string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, exe)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-test.run=^$")
	cmd.Env = append(os.Environ(), "TOLLGATE_TEST_PRODUCT=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestUpWindows runs `tollgate up` as a Windows program: the ledger on SQLite and the agent on a
// named pipe of its own (before, up built a socket path in the data folder and failed with
// "Invalid name"); status and check over that pipe; a started Revit.exe charged and the balance
// shown.
// paidRevit is status's session row for a paid Revit.
var paidRevit = regexp.MustCompile(`(?m)^\s+\S+\s+revit\s+paid\s`)

func TestUpWindows(t *testing.T) {
	data := wineTempDir(t)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(data, "tollgate.log"))
			t.Logf("tollgate.log:\n%s", b)
		}
	})
	// The test clock: the agent's five minutes of grace pass when the test moves it.
	clock := filepath.Join(data, "clock")
	t0 := time.Now().UTC().Truncate(time.Second)
	setClock := func(d time.Duration) {
		t.Helper()
		if err := os.WriteFile(clock, []byte(t0.Add(d).Format(time.RFC3339)+" "+d.String()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setClock(0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env{stdout: out, stderr: out, stdin: strings.NewReader("")}, []string{"up", "--data", data, "--listen", addr, "--clock-file", clock})
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("up ended with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("up did not stop within 30s of Ctrl-C")
		}
	}()
	waitFor(t, out, "Watching launches", 60*time.Second)
	m := regexp.MustCompile(`local API\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.HasPrefix(m[1], `\\.\pipe\tollgate-up-`) {
		t.Fatalf("up printed:\n%s\nwant its local API on a named pipe \\\\.\\pipe\\tollgate-up-...", out)
	}
	pipe := m[1]

	// Wine's first instance of a pipe takes one client that nobody serves (see docs/deploying.md):
	// that first call must fail clearly within the client's timeout, and the next one work.
	if _, stderr, code := runCLI(t, "status", "--socket", pipe); code != 0 {
		if !strings.Contains(stderr, "did not answer") || !strings.Contains(stderr, "try again") {
			t.Errorf("first status: got exit %d, stderr %q, want an answer or a clear timeout", code, stderr)
		}
		t.Logf("first status over the pipe (Wine's unserved first instance): %s", strings.TrimSpace(stderr))
	}
	// Before any launch the agent has no entitlement for this user, so check answers with a
	// decision (exit 0 allowed, 3 denied); status answers in full.
	stdout, stderr, code := runCLI(t, "status", "--socket", pipe)
	if code != 0 || !strings.Contains(stdout, "ledger         http://"+addr+" (online)") {
		t.Errorf("status: got exit %d, stdout %q, stderr %q, want exit 0 and the ledger online", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, "check", "--socket", pipe, "revit")
	if (code != 0 && code != cli.ExitDenied) || !strings.HasPrefix(stdout, "Autodesk Revit: ") {
		t.Errorf("check revit: got exit %d, stdout %q, stderr %q, want a decision", code, stdout, stderr)
	}

	startProduct(t, data, "Revit.exe")
	waitFor(t, out, "Autodesk Revit started", 30*time.Second)
	setClock(6 * time.Minute)
	waitFor(t, out, "Autodesk Revit: 10 tokens charged", 30*time.Second)
	waitFor(t, out, "team studio: 190 tokens available", 30*time.Second)
	eventually(t, 30*time.Second, func() string {
		stdout, stderr, code := runCLI(t, "status", "--socket", pipe)
		if code != 0 || !paidRevit.MatchString(stdout) || !strings.Contains(stdout, "sync backlog   0") {
			return fmt.Sprintf("status after the launch: got exit %d, stdout %q, stderr %q, want revit paid and nothing left to sync", code, stdout, stderr)
		}
		return ""
	})
	stdout, stderr, code = runCLI(t, "check", "--socket", pipe, "revit")
	if code != 0 || !strings.Contains(stdout, "allowed") {
		t.Errorf("check revit while paid: got exit %d, stdout %q, stderr %q, want allowed", code, stdout, stderr)
	}

	// launch, reload, and a call while the notifier's stream is open on another connection.
	events, stopEvents := context.WithCancel(context.Background())
	streamDone := make(chan error, 1)
	go func() { streamDone <- localapi.NewClient(pipe).Events(events, func(localapi.Message) {}) }()
	time.Sleep(time.Second) // the stream connects first (nothing is timed against this)
	revitPath := filepath.Join(data, "Revit.exe")
	for _, tt := range []struct {
		args    []string
		wantOut string
	}{
		{[]string{"launch", "--socket", pipe, "revit", "--", revitPath, "-test.run=^$"}, ""},
		{[]string{"reload", "--socket", pipe}, "configuration reloaded"},
		{[]string{"status", "--socket", pipe}, "paid"},
	} {
		stdout, stderr, code := runCLI(t, tt.args...)
		if code != 0 || !strings.Contains(stdout, tt.wantOut) {
			t.Errorf("tollgate %s: got exit %d, stdout %q, stderr %q, want exit 0 and %q", strings.Join(tt.args, " "), code, stdout, stderr, tt.wantOut)
		}
	}
	stopEvents()
	if err := <-streamDone; err != nil {
		t.Errorf("the event stream ended with %v, want nil once its context ended", err)
	}

	// The launch gate as Windows would run it for a second Revit.exe, against this agent: allowed
	// (the day is paid), so it starts the product past its Image File Execution Options entry
	// and hands back the product's exit code.
	revit := filepath.Join(data, "Revit.exe")
	notify := func(title, body string) { t.Errorf("the gate showed %q: %q, want the product started", title, body) }
	line := `"C:\tg\tollgate.exe" gate --socket ` + pipe + ` "` + revit + `" -test.run=^$`
	if code, err := ctl.Gate(context.Background(), line, filepath.Join(data, "tollgate.yaml"), notify); err != nil || code != 0 {
		t.Errorf("gate for a paid Revit: got exit %d, %v, want the product run and its exit 0", code, err)
	}
}

// TestLaunchGatePushWindows: with the launch gate on, the agent (tollgate run) sets the Image
// File Execution Options entries for the catalogue it starts with, and updates them when a
// drop-in pushed into conf.d adds a product.
func TestLaunchGatePushWindows(t *testing.T) {
	const gateCmd = `"C:\Program Files\tollgate\tollgate.exe" gate`
	if _, err := platform.EnableLaunchGate(gateCmd, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { platform.DisableLaunchGate() })
	dir := wineTempDir(t)
	conf := filepath.Join(dir, "tollgate.yaml")
	write := func(path, body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(conf, "ledger: {url: \"http://127.0.0.1:9\"}\nproducts:\n  - id: revit\n    name: Autodesk Revit\n    match: {exe: [Revit.exe]}\n")
	if err := os.Mkdir(filepath.Join(dir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &syncBuffer{}
	go func() {
		done <- run(ctx, env{stdout: out, stderr: out, stdin: strings.NewReader("")}, []string{"run", "--config", conf,
			"--state", filepath.Join(dir, "state"), "--socket", fmt.Sprintf(`\\.\pipe\tollgate-push-%d`, time.Now().UnixNano())})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tollgate run ended with %v; it printed:\n%s", err, out)
		}
	}()
	entries := func(want ...string) func() string {
		return func() string {
			got, err := platform.LaunchGateEntries()
			if err != nil {
				return err.Error()
			}
			wantM := map[string]string{}
			for _, w := range want {
				wantM[w] = gateCmd
			}
			if fmt.Sprint(got) != fmt.Sprint(wantM) {
				return fmt.Sprintf("got entries %v, want %v", got, wantM)
			}
			return ""
		}
	}
	eventually(t, 30*time.Second, entries("revit.exe"))
	write(filepath.Join(dir, "conf.d", "20-rhino.yaml"), "products:\n  - id: rhino\n    name: Rhino\n    match: {exe: [Rhino.exe]}\n")
	eventually(t, 30*time.Second, entries("revit.exe", "rhino.exe"))
}

// eventually calls check until it returns "" or d passes, then fails with its last complaint.
func eventually(t *testing.T, d time.Duration, check func() string) {
	t.Helper()
	var last string
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
		if last = check(); last == "" {
			return
		}
	}
	t.Errorf("after %v: %s", d, last)
}
