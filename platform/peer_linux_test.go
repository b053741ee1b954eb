package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// peerClientEnv, when set to a socket path, turns the test binary into the client of
// TestPeerOverHTTP: TestPeerClientProcess asks that socket who it is and prints the answer.
const peerClientEnv = "TOLLGATE_PEER_TEST_SOCKET"

// TestPeerClientProcess is not a test of its own: TestPeerOverHTTP re-executes the test binary
// with only this test selected, as another OS user, to get a client process with other
// credentials. It does nothing in a normal run.
func TestPeerClientProcess(t *testing.T) {
	sock := os.Getenv(peerClientEnv)
	if sock == "" {
		return
	}
	p, err := whoAmI(t.Context(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(p); err != nil {
		t.Fatal(err)
	}
}

// whoAmI asks the test server on sock which Peer it sees.
func whoAmI(ctx context.Context, sock string) (Peer, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return Dial(ctx, sock)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://tollgate/whoami", nil)
	if err != nil {
		return Peer{}, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Peer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Peer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Peer{}, fmt.Errorf("GET /whoami: %s: %s", resp.Status, body)
	}
	var p Peer
	if err := json.Unmarshal(body, &p); err != nil {
		return Peer{}, fmt.Errorf("GET /whoami: %w", err)
	}
	return p, nil
}

// serveWhoAmI serves GET /whoami on ln: the caller's Peer as JSON, or 403 when ConnContext
// could not identify it.
func serveWhoAmI(t *testing.T, ln net.Listener) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		p, ok := PeerFrom(r.Context())
		if !ok {
			http.Error(w, "caller not identified", http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(p)
	})
	srv := &http.Server{Handler: mux, ConnContext: ConnContext}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: got %v, want %v", err, http.ErrServerClosed)
		}
	})
}

// sharedTempDir returns a directory that every local user can enter; t.TempDir's parent is 0700.
func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tollgate-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// addTestUser creates an unprivileged OS user, removed with its home when t ends.
func addTestUser(t *testing.T) *user.User {
	t.Helper()
	name := fmt.Sprintf("tgpeer%d", os.Getpid())
	if out, err := exec.Command("useradd", "--create-home", "--user-group", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil {
			t.Errorf("userdel -r %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// runClientAs runs TestPeerClientProcess from a copy of the test binary in dir (the original
// sits in a directory only root may enter) as cred, and returns what it printed and its pid.
func runClientAs(t *testing.T, dir, sock string, cred *syscall.Credential) (Peer, int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "platform.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestPeerClientProcess$")
	cmd.Env = []string{peerClientEnv + "=" + sock}
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client as uid %d: %v\nstdout: %s\nstderr: %s", cred.Uid, err, out, stderr.Bytes())
	}
	var p Peer
	// The client prints the Peer, then the test binary prints PASS.
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&p); err != nil {
		t.Fatalf("client as uid %d printed %q: %v", cred.Uid, out, err)
	}
	return p, cmd.Process.Pid
}

func TestPeerOverHTTP(t *testing.T) {
	dir := sharedTempDir(t)
	sock := filepath.Join(dir, "tollgate.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	serveWhoAmI(t, ln)

	other := addTestUser(t)
	uid, err := strconv.Atoi(other.Uid)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.Atoi(other.Gid)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		// cred runs the client as another user in a child process; nil dials from this process.
		cred *syscall.Credential
		// want is the Peer the server must see, but for PID, which is the client's.
		want Peer
	}{
		{
			name: "root in this process",
			want: Peer{UID: 0, GID: 0, User: "root", Admin: true},
		},
		{
			name: "unprivileged user in a child process",
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
			want: Peer{UID: uid, GID: gid, User: other.Username, Admin: false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Peer
			want := tt.want
			if tt.cred == nil {
				var err error
				got, err = whoAmI(t.Context(), sock)
				if err != nil {
					t.Fatal(err)
				}
				want.PID = os.Getpid()
			} else {
				got, want.PID = runClientAs(t, dir, sock, tt.cred)
			}
			if got != want {
				t.Errorf("server saw %+v, want %+v", got, want)
			}
		})
	}
}

func TestPeerOfUnidentifiable(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if p, err := PeerOf(a); err == nil {
		t.Errorf("PeerOf(net.Pipe): got %+v, want an error", p)
	}
	if p, ok := PeerFrom(ConnContext(t.Context(), a)); ok {
		t.Errorf("PeerFrom after ConnContext(net.Pipe): got %+v, true, want false", p)
	}
}
