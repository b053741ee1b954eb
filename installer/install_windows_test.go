package installer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"

	"tollgate/platform"
)

// wineTempDir is t.TempDir for Wine 8, where os.RemoveAll fails ("Invalid function") but
// os.Remove works.
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

// serviceExists asks the service control manager whether a service of name exists.
func serviceExists(t *testing.T, name string) bool {
	t.Helper()
	sm, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Disconnect()
	s, err := sm.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return true
}

// TestInstallWindowsRollsBack runs a real install against the service control manager. Under
// Wine, which lacks the service settings of levels 2 and 3 (recovery actions, delayed start),
// the install fails half-way, as it would on a Windows that refused one of them: the error must
// say which step failed, and the half-made service must be gone so that a retry starts clean.
// (On a real Windows the same install succeeds; that is not verified here.)
func TestInstallWindowsRollsBack(t *testing.T) {
	if serviceExists(t, "tollgate") {
		t.Fatal(`a service "tollgate" exists in this Wine prefix before the test; remove it (sc delete tollgate)`)
	}
	dir := wineTempDir(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	paths := platform.Paths{
		ConfigFile: filepath.Join(dir, "tollgate.yaml"), ConfigDir: dir,
		StateDir: filepath.Join(dir, "state"), LogDir: filepath.Join(dir, "logs"),
		Socket: `\\.\pipe\tollgate-install-test`,
	}
	res, err := Install(context.Background(), Options{Binary: bin, Paths: paths})
	if err == nil {
		// A Wine that implements every level: then the install must have worked for real.
		t.Cleanup(func() { Uninstall(context.Background(), Options{Binary: bin, Paths: paths}, false) })
		if !serviceExists(t, "tollgate") {
			t.Fatalf("Install returned %+v and no error, but no service exists", res)
		}
		t.Logf("this Wine implements every service setting tollgate writes: installed")
		return
	}
	t.Logf("Install: %v", err)
	msg := err.Error()
	for _, want := range []string{"the service", "the half-made service was removed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("got %q, want it to contain %q", msg, want)
		}
	}
	if bare := []string{"Invalid level.", "The parameter is incorrect."}; msg == bare[0] || msg == bare[1] {
		t.Errorf("got the bare service-manager error %q, want the step that failed", msg)
	}
	if serviceExists(t, "tollgate") {
		t.Errorf(`after the failed install a service "tollgate" is still registered, want it removed`)
		if sm, err := mgr.Connect(); err == nil {
			if s, err := sm.OpenService("tollgate"); err == nil {
				s.Delete()
				s.Close()
			}
			sm.Disconnect()
		}
	}
}
