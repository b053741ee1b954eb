//go:build unix

package platform

import (
	"bufio"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serveEcho answers every line on ln with the same line until ln is closed; the returned wait
// blocks until the serving goroutine has stopped.
func serveEcho(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				c.Write([]byte(line))
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
}

// echo sends line to the agent at path and returns what comes back.
func echo(t *testing.T, path, line string) string {
	t.Helper()
	c, err := Dial(t.Context(), path)
	if err != nil {
		t.Fatalf("Dial(%s): %v", path, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("writing to %s: %v", path, err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading from %s: %v", path, err)
	}
	return strings.TrimSuffix(got, "\n")
}

func TestListenDialRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	serveEcho(t, ln)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Type(), os.ModeSocket; got != want {
		t.Errorf("socket file type: got %v, want %v", got, want)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o666); got != want {
		t.Errorf("socket mode: got %v, want %v", got, want)
	}
	for _, msg := range []string{"ping", "héllo wörld", ""} {
		if got := echo(t, path, msg); got != msg {
			t.Errorf("round trip: got %q, want %q", got, msg)
		}
	}
}

func TestListenOverExistingFile(t *testing.T) {
	tests := []struct {
		name string
		// setup leaves something at path before Listen.
		setup func(t *testing.T, path string)
		// wantErr is a substring of Listen's error; "" means Listen succeeds.
		wantErr     string
		wantAlready bool
		// after checks the file system and the earlier occupant after Listen returned.
		after func(t *testing.T, path string)
	}{
		{
			name:  "nothing there",
			setup: func(t *testing.T, path string) {},
		},
		{
			name: "stale socket from a dead agent",
			setup: func(t *testing.T, path string) {
				ln, err := net.Listen("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				// A crashed agent does not unlink its socket.
				ln.(*net.UnixListener).SetUnlinkOnClose(false)
				ln.Close()
				if _, err := os.Lstat(path); err != nil {
					t.Fatalf("stale socket not left behind: %v", err)
				}
			},
		},
		{
			name: "live agent",
			setup: func(t *testing.T, path string) {
				ln, err := Listen(path)
				if err != nil {
					t.Fatal(err)
				}
				serveEcho(t, ln)
			},
			wantErr:     "another tollgate is already listening on ",
			wantAlready: true,
			after: func(t *testing.T, path string) {
				if got, want := echo(t, path, "still there"), "still there"; got != want {
					t.Errorf("live agent after refused Listen: got %q, want %q", got, want)
				}
			},
		},
		{
			name: "regular file",
			setup: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("not a socket"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "is not a socket",
			after: func(t *testing.T, path string) {
				got, err := os.ReadFile(path)
				if err != nil || string(got) != "not a socket" {
					t.Errorf("regular file after refused Listen: got %q, %v, want it untouched", got, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tollgate.sock")
			tt.setup(t, path)
			ln, err := Listen(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Listen: got %v, want success", err)
				}
				serveEcho(t, ln)
				if got, want := echo(t, path, "new"), "new"; got != want {
					t.Errorf("new listener: got %q, want %q", got, want)
				}
			} else {
				if err == nil {
					ln.Close()
					t.Fatalf("Listen: got success, want error containing %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("Listen: got %q, want it to contain %q and %s", err, tt.wantErr, path)
				}
				if got := errors.Is(err, ErrAlreadyListening); got != tt.wantAlready {
					t.Errorf("errors.Is(%v, ErrAlreadyListening): got %v, want %v", err, got, tt.wantAlready)
				}
			}
			if tt.after != nil {
				tt.after(t, path)
			}
		})
	}
}

func TestListenPathTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("s", maxSocketPath)+".sock")
	ln, err := Listen(path)
	if err == nil {
		ln.Close()
		t.Fatalf("Listen(%d-byte path): got success, want an error", len(path))
	}
	if want := "choose a shorter path"; !strings.Contains(err.Error(), want) {
		t.Errorf("Listen(%d-byte path): got %q, want it to contain %q", len(path), err, want)
	}
}

func TestDialWithoutAgent(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"no socket file", func(t *testing.T, path string) {}},
		{"stale socket file", func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tollgate.sock")
			tt.setup(t, path)
			c, err := Dial(t.Context(), path)
			if err == nil {
				c.Close()
				t.Fatal("Dial: got a connection, want an error")
			}
			if want := "is the tollgate service running?"; !strings.Contains(err.Error(), want) {
				t.Errorf("Dial: got %q, want it to contain %q", err, want)
			}
		})
	}
}
