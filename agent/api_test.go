//go:build linux

package agent_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// asUser runs the tollgate CLI as u.
func asUser(t *testing.T, u *user.User, args ...string) (string, int) {
	t.Helper()
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c := exec.Command(bins.Tollgate, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

func TestLocalAPIIdentifiesCallers(t *testing.T) {
	u := agenttest.OSUser(t, "tgagent")
	r := newRig(t, 100)
	// The second user must reach the socket and the binary.
	for _, d := range []string{filepath.Dir(bins.Tollgate), r.Dir, filepath.Dir(r.Dir)} {
		os.Chmod(d, 0o755)
	}
	agenttest.Write(r.T, r.Config, strings.Replace(readFile(t, r.Config), "identity:\n", "identity:\n  table: {tgagent: tgtest@studio.example}\n", 1))
	r.Start()
	r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"own status", []string{"status", "--json"}, 0, `"caller": "tgtest@studio.example"`},
		{"own check", []string{"check", "revit"}, 0, "Autodesk Revit: allowed (grace)"},
		{"another user's check", []string{"check", "revit", "--user", "root@studio.example"}, 1, "you may ask only about your own launches"},
		{"another user's messages", []string{"status", "--json"}, 0, `"admin": false`},
		{"reload", []string{"reload"}, 1, "only an administrator may do this"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := asUser(t, u, append(tt.args, "--socket", r.Sock)...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("got exit %d and %q, want %d and %q", code, out, tt.wantCode, tt.want)
			}
		})
	}
	out, _ := asUser(t, u, "status", "--json", "--socket", r.Sock)
	var st localapi.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Sessions) != 0 || len(st.Messages) != 0 {
		t.Errorf("got root's sessions %+v and messages %+v shown to tgagent, want none", st.Sessions, st.Messages)
	}

	// The administrator may read others and reload.
	if out, code := run(t, "check", "revit", "--user", "tgtest@studio.example", "--socket", r.Sock); code != 0 || !strings.Contains(out, "allowed") {
		t.Errorf("root checking tgtest: got %d %q, want allowed", code, out)
	}
	if out, code := run(t, "reload", "--socket", r.Sock); code != 0 {
		t.Errorf("root reload: got %d %q, want 0", code, out)
	}

	// A terminal server: the second user runs the same product; each has a session.
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	p := exec.Command(filepath.Join(r.Dir, "bin/revit"))
	p.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { p.Process.Kill(); p.Wait() }()
	all := r.WaitFor("two users' sessions", func(st localapi.Status) bool { return len(st.Sessions) == 2 })
	users := map[string]bool{}
	for _, ss := range all.Sessions {
		users[ss.User] = ss.Product == "revit" && ss.Procs == 1
	}
	if !users["root@studio.example"] || !users["tgtest@studio.example"] {
		t.Errorf("got sessions %+v, want one Revit session each for root@ and tgtest@", all.Sessions)
	}
	out, _ = asUser(t, u, "status", "--json", "--socket", r.Sock)
	st = localapi.Status{}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Sessions) != 1 || st.Sessions[0].User != "tgtest@studio.example" {
		t.Errorf("got %+v shown to tgagent, want only their own session", st.Sessions)
	}
}

func TestLocalAPIRefusesBrowsers(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	hc := &http.Client{Transport: &http.Transport{Dial: func(_, _ string) (net.Conn, error) { return net.Dial("unix", r.Sock) }}}
	for _, h := range []string{"Origin", "Referer"} {
		req, _ := http.NewRequest(http.MethodGet, "http://tollgate/v0/status", nil)
		req.Header.Set(h, "http://evil.example")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("with %s: got %d, want 403", h, resp.StatusCode)
		}
	}
}

func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bins.Tollgate, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
