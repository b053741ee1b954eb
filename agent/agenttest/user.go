//go:build linux

package agenttest

import (
	"os/exec"
	"os/user"
	"strings"
	"testing"
	"time"
)

// OSUser creates a second, unprivileged OS account for the test and removes it after.
func OSUser(t testing.TB, name string) *user.User {
	t.Helper()
	var out []byte
	var err error
	for range 20 { // useradd refuses while another test holds /etc/passwd's lock
		out, err = exec.Command("useradd", "--no-create-home", "--shell", "/bin/false", name).CombinedOutput()
		if err == nil || strings.Contains(string(out), "already exists") {
			err = nil
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		for range 20 {
			if exec.Command("userdel", name).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
