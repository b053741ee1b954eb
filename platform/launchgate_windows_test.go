package platform

import (
	"reflect"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// TestLaunchGateRegistry writes, syncs and removes the Image File Execution Options entries in
// the registry as install, a catalogue push and uninstall do, and leaves a Debugger someone else
// set alone. (Wine keeps the values but does not honour Debugger: see docs/deploying.md.)
func TestLaunchGateRegistry(t *testing.T) {
	const cmd = `"C:\Program Files\tollgate\tollgate.exe" gate`
	foreign, _, err := registry.CreateKey(registry.LOCAL_MACHINE, ifeoKey+`\windbg-target.exe`, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	foreign.SetStringValue("Debugger", `C:\tools\windbg.exe`)
	foreign.Close()
	t.Cleanup(func() {
		DisableLaunchGate()
		registry.DeleteKey(registry.LOCAL_MACHINE, ifeoKey+`\windbg-target.exe`)
	})

	steps := []struct {
		name        string
		do          func() (GateChange, error)
		wantChange  GateChange
		wantEntries map[string]string
		wantOn      string
	}{
		{"install", func() (GateChange, error) {
			return EnableLaunchGate(cmd, []string{"Revit.exe", "acad.exe", "windbg-target.exe", `C:\x\bad.exe`, "nonexe"})
		}, GateChange{Set: []string{"acad.exe", "revit.exe"}, Foreign: []string{"windbg-target.exe"}},
			map[string]string{"acad.exe": cmd, "revit.exe": cmd}, cmd},
		{"catalogue push drops AutoCAD, adds Rhino", func() (GateChange, error) {
			return SyncLaunchGate(cmd, []string{"Revit.exe", "Rhino.exe"})
		}, GateChange{Removed: []string{"acad.exe"}, Set: []string{"revit.exe", "rhino.exe"}},
			map[string]string{"revit.exe": cmd, "rhino.exe": cmd}, cmd},
		{"uninstall", DisableLaunchGate, GateChange{Removed: []string{"revit.exe", "rhino.exe"}}, map[string]string{}, ""},
	}
	for _, s := range steps {
		ch, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !reflect.DeepEqual(ch, s.wantChange) {
			t.Errorf("%s: got change %+v, want %+v", s.name, ch, s.wantChange)
		}
		got, err := LaunchGateEntries()
		if err != nil {
			t.Fatal(err)
		}
		lower := map[string]string{}
		for k, v := range got {
			if k != "windbg-target.exe" {
				lower[k] = v
			}
		}
		if !reflect.DeepEqual(lower, s.wantEntries) {
			t.Errorf("%s: got entries %v, want %v", s.name, lower, s.wantEntries)
		}
		if on, err := LaunchGateCommand(); err != nil || on != s.wantOn {
			t.Errorf("%s: got gate command %q (%v), want %q", s.name, on, err, s.wantOn)
		}
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, ifeoKey+`\windbg-target.exe`, registry.QUERY_VALUE)
		if err != nil {
			t.Fatalf("%s: someone else's entry is gone: %v", s.name, err)
		}
		if d, _, _ := k.GetStringValue("Debugger"); d != `C:\tools\windbg.exe` {
			t.Errorf("%s: someone else's Debugger is now %q", s.name, d)
		}
		k.Close()
	}
}

// TestStartPastGate starts a product as the gate does (as its debugger, then detached) and
// reads its exit code once it ends on its own.
func TestStartPastGate(t *testing.T) {
	cmd := startProduct(t, "probe.exe") // only for its path
	cmd.Process.Kill()
	cmd.Wait()
	h, err := StartPastGate(`"` + cmd.Path + `" -test.run=^TestNothing$`)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, 30000)
	if err != nil || ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("the product did not end on its own within 30s (%v, %v): still held by its debugger?", ev, err)
	}
	var code uint32
	windows.GetExitCodeProcess(h, &code)
	if code != 0 {
		t.Errorf("got exit code %d, want 0", code)
	}
}
