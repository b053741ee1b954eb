package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
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

// wineTempDir is t.TempDir for Wine 8, where os.RemoveAll fails ("Invalid function") but
// os.Remove works.
func wineTempDir(t testing.TB) string {
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

// startProduct starts a copy of this test binary named exe, with args, that waits to be closed.
func startProduct(t testing.TB, exe string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(wineTempDir(t), exe)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), "TOLLGATE_TEST_PRODUCT=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// findStarted scans until the process with pid shows among the started ones.
func findStarted(t *testing.T, src *Source, pid int) Process {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		d, err := src.Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Started {
			if int(p.Key.PID) == pid {
				return p
			}
		}
	}
	t.Fatalf("process %d never showed in a scan", pid)
	return Process{}
}

// TestProcWindows lists processes through NtQuerySystemInformation and sees a started Revit.exe
// with its image name, path, arguments and owner, then its exit.
func TestProcWindows(t *testing.T) {
	src := NewSource(SourceOptions{})
	if _, err := src.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	cmd := startProduct(t, "Revit.exe", `C:\projects\tower one.rvt`)
	p := findStarted(t, src, cmd.Process.Pid)
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	account, _, _, _ := me.User.Sid.LookupAccount("")
	if got, want := p.Name, "Revit.exe"; got != want {
		t.Errorf("got name %q, want %q", got, want)
	}
	if got, want := strings.ToLower(p.Exe), strings.ToLower(cmd.Path); got != want {
		t.Errorf("got exe %q, want %q", got, want)
	}
	if got := p.Args; len(got) == 0 || got[len(got)-1] != `C:\projects\tower one.rvt` {
		t.Errorf("got args %q, want the last to be the project path, spaces kept", got)
	}
	if p.User != account || p.UID != -1 {
		t.Errorf("got user %q uid %d, want %q uid -1", p.User, p.UID, account)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d, err := src.Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Exited) > 0 && func() bool {
			for _, k := range d.Exited {
				if k == p.Key {
					return true
				}
			}
			return false
		}() {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("Revit.exe's exit never showed in a scan")
		}
	}
}

// TestTerminateWindows closes a console process (no window: after grace, TerminateProcess) and
// refuses a key whose create time does not match.
func TestTerminateWindows(t *testing.T) {
	src := NewSource(SourceOptions{})
	src.Scan(context.Background())
	cmd := startProduct(t, "acad.exe")
	p := findStarted(t, src, cmd.Process.Pid)
	stale := ProcKey{PID: p.Key.PID, Created: p.Key.Created - 1000}
	if _, err := Terminate(context.Background(), stale, 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), ErrNoProcess.Error()) {
		t.Errorf("Terminate with a stale create time: got %v, want ErrNoProcess", err)
	}
	end, err := Terminate(context.Background(), p.Key, 300*time.Millisecond)
	if err != nil || end != TermKilled {
		t.Fatalf("got %v, %v, want %v", end, err, TermKilled)
	}
	if err := cmd.Wait(); err == nil {
		t.Errorf("acad.exe exited cleanly, want it killed")
	}
}

// TestPipeWindows serves the local API's named pipe and identifies the client (its pid and
// account), and reads back the security descriptor set on the pipe.
func TestPipeWindows(t *testing.T) {
	path := fmt.Sprintf(`\\.\pipe\tollgate-test-%d`, time.Now().UnixNano())
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan Peer, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p, err := PeerOf(c)
			if err != nil {
				t.Errorf("PeerOf: %v", err)
			}
			peers <- p
			io.WriteString(c, "ok\n")
			c.Close()
		}
	}()
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	// Wine's first instance may take the first client and never serve it: a bounded dial and
	// read, then the next try is served.
	var got Peer
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := Dial(ctx, path)
		cancel()
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 3)
		_, err = io.ReadFull(c, b)
		c.Close()
		if err == nil {
			got = <-peers
			break
		}
		if try == 2 {
			t.Fatalf("no answer on the pipe after %d tries: %v", try, err)
		}
		t.Logf("try %d unanswered (%v): Wine's first pipe instance", try, err)
	}
	if got.PID != os.Getpid() || got.SID != me.User.Sid.String() || got.UID != -1 {
		t.Errorf("got peer %+v, want pid %d and SID %s", got, os.Getpid(), me.User.Sid)
	}
	// Reading it opens the pipe, which takes a free instance: the server makes the next one
	// only after serving the last client (and Wine's unserved first one stays taken), so a
	// busy pipe is waited for, as WaitNamedPipe would.
	var sd *windows.SECURITY_DESCRIPTOR
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		sd, err = windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if !errors.Is(err, windows.ERROR_PIPE_BUSY) || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		t.Errorf("reading the pipe's security descriptor: %v", err)
	} else if got := sd.String(); !strings.Contains(got, "(D;;GA;;;NU)") || !strings.Contains(got, "(A;;0x12019b;;;AU)") {
		t.Errorf("got the pipe's access list %s, want network logons denied and users 0x12019b as pipeSDDL", got)
	}
	// Not checked: that a second Listen on a served name fails. Windows refuses it
	// (FILE_FLAG_FIRST_PIPE_INSTANCE); Wine 8 lets it create another instance.
}
