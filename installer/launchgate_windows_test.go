package installer

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/windows/svc/mgr"

	"tollgate/platform"
)

// TestLaunchGateInstallWindows: install --launch-gate's own step sets an Image File Execution
// Options entry running `"<binary>" gate` for each exe name of the installed catalogue, and
// uninstall, on a service tollgate install made in the service control manager, removes them
// with the service. (Install itself stops earlier under Wine, at the service settings Wine
// lacks: TestInstallWindowsRollsBack.)
func TestLaunchGateInstallWindows(t *testing.T) {
	if serviceExists(t, "tollgate") {
		t.Fatal(`a service "tollgate" exists in this Wine prefix before the test; remove it (sc delete tollgate)`)
	}
	if on, err := platform.LaunchGateCommand(); err != nil || on != "" {
		t.Fatalf("the launch gate is on (%q, %v) before the test; turn it off (tollgate uninstall)", on, err)
	}
	t.Cleanup(func() { platform.DisableLaunchGate() })
	dir := wineTempDir(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	paths := platform.Paths{
		ConfigFile: filepath.Join(dir, "tollgate.yaml"), ConfigDir: dir,
		StateDir: filepath.Join(dir, "state"), LogDir: filepath.Join(dir, "logs"),
		Socket: `\\.\pipe\tollgate-launchgate-test`,
	}
	if err := os.WriteFile(paths.ConfigFile, []byte(`ledger: {url: "https://ledger.studio.example"}
products:
  - id: revit
    name: Autodesk Revit
    match: {exe: [Revit.exe]}
  - id: acad
    name: AutoCAD
    match: {exe: [acad.exe, acadlt.exe]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Binary: bin, Paths: paths, LaunchGate: true}
	p, err := NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}

	ch, err := setLaunchGate(p)
	if err != nil {
		t.Fatal(err)
	}
	gate := `"` + bin + `" gate`
	want := map[string]string{"revit.exe": gate, "acad.exe": gate, "acadlt.exe": gate}
	if got, err := platform.LaunchGateEntries(); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after install's launch gate step: got entries %v (%v), want %v", got, err, want)
	}
	if wantSet := []string{"acad.exe", "acadlt.exe", "revit.exe"}; !reflect.DeepEqual(ch.Set, wantSet) {
		t.Errorf("got the entries set reported as %v, want %v", ch.Set, wantSet)
	}
	if on, err := platform.LaunchGateCommand(); err != nil || on != gate {
		t.Errorf("got the gate's command %q (%v), want %q, which the agent keeps the entries in step with", on, err, gate)
	}

	// The service as install's first step creates it; then uninstall.
	m, err := newSystemManager(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.(*systemManager).svc.Install(); err != nil {
		t.Fatalf("creating the service: %v", err)
	}
	t.Cleanup(func() {
		if sm, err := mgr.Connect(); err == nil {
			if s, err := sm.OpenService("tollgate"); err == nil {
				s.Delete()
				s.Close()
			}
			sm.Disconnect()
		}
	})
	res, err := Uninstall(context.Background(), Options{Binary: bin, Paths: paths}, false)
	if err != nil || !res.Removed {
		t.Fatalf("Uninstall: got %+v, %v, want the service removed", res, err)
	}
	if serviceExists(t, "tollgate") {
		t.Errorf(`after uninstall a service "tollgate" is still registered`)
	}
	if got, err := platform.LaunchGateEntries(); err != nil || len(got) != 0 {
		t.Errorf("after uninstall: got entries %v (%v), want none", got, err)
	}
	if on, err := platform.LaunchGateCommand(); err != nil || on != "" {
		t.Errorf("after uninstall: got the gate's command %q (%v), want the gate off", on, err)
	}
}
