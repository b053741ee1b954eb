package platform

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"testing"
)

// TestProcOwner runs processes as other accounts and asks who runs them, as the pre-exec gate
// does for a launching pid.
func TestProcOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("needs root, to run processes as other accounts")
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	runAs := func(uid string) int32 {
		t.Helper()
		id, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		c := exec.Command(sleep, "60")
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(id), Gid: uint32(id)}}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return int32(c.Process.Pid)
	}
	gone := exec.Command(sleep, "0")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pid     int32
		want    string
		wantErr bool
	}{
		{"this test", int32(os.Getpid()), me.Username, false},
		{"another account", runAs(nobody.Uid), "nobody", false},
		{"a uid without an account", runAs("54321"), "", true},
		{"an exited process", int32(gone.Process.Pid), "", true},
	}
	for _, tt := range tests {
		got, err := ProcOwner(tt.pid)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: got %q, %v; want %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrNoOwner) {
			t.Errorf("%s: got error %v, want one wrapping ErrNoOwner", tt.name, err)
		}
	}
}
