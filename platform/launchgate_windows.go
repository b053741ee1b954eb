package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Windows's pre-launch gate is Image File Execution Options: for an exe name listed there with a
// Debugger value, Windows starts the debugger instead, with the product's command line after
// the debugger's own. tollgate's debugger is `tollgate.exe gate`; it asks the agent and starts
// the product itself, with the debug flag that makes Windows skip the entry for that one start.
const (
	ifeoKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options`
	// ifeoMark sits beside each Debugger value tollgate set, so that a Debugger someone else
	// set (a real debugger, another product's shim) is never changed or removed.
	ifeoMark = "TollgateGate"
	// gateKey holds the opt-in: the gate's command while the gate is on, nothing when off.
	gateKey   = `SOFTWARE\tollgate`
	gateValue = "LaunchGate"
)

// LaunchGateCommand is the gate's command line while the gate is on (install --launch-gate
// turned it on), or "" when it is off.
func LaunchGateCommand() (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, gateKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading HKLM\\%s: %w", gateKey, err)
	}
	defer k.Close()
	v, _, err := k.GetStringValue(gateValue)
	if errors.Is(err, registry.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading HKLM\\%s\\%s: %w", gateKey, gateValue, err)
	}
	return v, nil
}

// EnableLaunchGate turns the gate on with command (e.g. `"C:\Program Files\tollgate\tollgate.exe"
// gate`) and sets it for exes.
func EnableLaunchGate(command string, exes []string) (GateChange, error) {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, gateKey, registry.SET_VALUE)
	if err != nil {
		return GateChange{}, fmt.Errorf("opening HKLM\\%s: %w", gateKey, err)
	}
	defer k.Close()
	if err := k.SetStringValue(gateValue, command); err != nil {
		return GateChange{}, fmt.Errorf("setting HKLM\\%s\\%s: %w", gateKey, gateValue, err)
	}
	return SyncLaunchGate(command, exes)
}

// DisableLaunchGate removes every entry tollgate set and turns the gate off.
func DisableLaunchGate() (GateChange, error) {
	ch, err := SyncLaunchGate("", nil)
	if err != nil {
		return ch, err
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, gateKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return ch, nil
	}
	if err != nil {
		return ch, fmt.Errorf("opening HKLM\\%s: %w", gateKey, err)
	}
	defer k.Close()
	if err := k.DeleteValue(gateValue); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return ch, fmt.Errorf("removing HKLM\\%s\\%s: %w", gateKey, gateValue, err)
	}
	return ch, nil
}

// SyncLaunchGate makes command the Debugger of each of exes and removes tollgate's entries for
// every other exe name; with command "", it removes them all. Exe names are base names
// ("Revit.exe"), compared as Windows does, without case.
func SyncLaunchGate(command string, exes []string) (GateChange, error) {
	var ch GateChange
	want := map[string]bool{}
	if command != "" {
		for _, e := range exes {
			if strings.HasSuffix(strings.ToLower(e), ".exe") && !strings.ContainsAny(e, `\/`) {
				want[strings.ToLower(e)] = true
			}
		}
	}
	root, err := registry.OpenKey(registry.LOCAL_MACHINE, ifeoKey, registry.ENUMERATE_SUB_KEYS|registry.CREATE_SUB_KEY)
	if err != nil {
		return ch, fmt.Errorf("opening HKLM\\%s: %w", ifeoKey, err)
	}
	defer root.Close()
	names, err := root.ReadSubKeyNames(-1)
	if err != nil {
		return ch, fmt.Errorf("listing HKLM\\%s: %w", ifeoKey, err)
	}
	for _, n := range names {
		if want[strings.ToLower(n)] {
			continue
		}
		removed, err := ifeoRemove(root, n)
		if err != nil {
			return ch, err
		}
		if removed {
			ch.Removed = append(ch.Removed, n)
		}
	}
	for _, e := range slices.Sorted(func(yield func(string) bool) {
		for e := range want {
			if !yield(e) {
				return
			}
		}
	}) {
		set, err := ifeoSet(root, e, command)
		if err != nil {
			return ch, err
		}
		if set {
			ch.Set = append(ch.Set, e)
		} else {
			ch.Foreign = append(ch.Foreign, e)
		}
	}
	return ch, nil
}

// ifeoSet sets command as exe's Debugger unless someone else's Debugger is there.
func ifeoSet(root registry.Key, exe, command string) (bool, error) {
	k, _, err := registry.CreateKey(root, exe, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return false, fmt.Errorf("opening the entry for %s: %w", exe, err)
	}
	defer k.Close()
	if _, _, err := k.GetStringValue("Debugger"); err == nil {
		if _, _, err := k.GetIntegerValue(ifeoMark); err != nil {
			return false, nil
		}
	}
	if err := k.SetStringValue("Debugger", command); err != nil {
		return false, fmt.Errorf("setting the Debugger of %s: %w", exe, err)
	}
	if err := k.SetDWordValue(ifeoMark, 1); err != nil {
		return false, fmt.Errorf("marking the Debugger of %s: %w", exe, err)
	}
	return true, nil
}

// ifeoRemove removes tollgate's Debugger from exe's entry, and the entry if nothing else is in it.
func ifeoRemove(root registry.Key, exe string) (bool, error) {
	k, err := registry.OpenKey(root, exe, registry.QUERY_VALUE|registry.SET_VALUE|registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return false, nil // an entry this account may not open is not tollgate's
	}
	defer k.Close()
	if _, _, err := k.GetIntegerValue(ifeoMark); err != nil {
		return false, nil
	}
	for _, v := range []string{"Debugger", ifeoMark} {
		if err := k.DeleteValue(v); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return false, fmt.Errorf("removing %s from the entry for %s: %w", v, exe, err)
		}
	}
	if info, err := k.Stat(); err == nil && info.ValueCount == 0 && info.SubKeyCount == 0 {
		k.Close()
		registry.DeleteKey(root, exe)
	}
	return true, nil
}

// LaunchGateEntries lists the exe names whose Debugger tollgate set, with that Debugger.
func LaunchGateEntries() (map[string]string, error) {
	root, err := registry.OpenKey(registry.LOCAL_MACHINE, ifeoKey, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, fmt.Errorf("opening HKLM\\%s: %w", ifeoKey, err)
	}
	defer root.Close()
	names, err := root.ReadSubKeyNames(-1)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		k, err := registry.OpenKey(root, n, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		if _, _, err := k.GetIntegerValue(ifeoMark); err == nil {
			if d, _, err := k.GetStringValue("Debugger"); err == nil {
				out[n] = d
			}
		}
		k.Close()
	}
	return out, nil
}

// StartPastGate starts the command line cmdline (the product's, as Windows handed it to the
// gate) as a debugger would: with DEBUG_ONLY_THIS_PROCESS, which makes Windows skip the Image
// File Execution Options entry for this start, then detaches at once so the product runs on
// its own. It returns the product's process handle.
func StartPastGate(cmdline string) (windows.Handle, error) {
	// The thread that creates a debuggee is its debugger; DebugActiveProcessStop must run on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	argv, err := windows.UTF16FromString(cmdline)
	if err != nil {
		return 0, err
	}
	var si windows.StartupInfo
	si.Cb = uint32(unsafe.Sizeof(si))
	var pi windows.ProcessInformation
	dir, _ := os.Getwd()
	dir16, _ := windows.UTF16PtrFromString(dir)
	if err := windows.CreateProcess(nil, &argv[0], nil, nil, false, windows.DEBUG_ONLY_THIS_PROCESS|windows.CREATE_UNICODE_ENVIRONMENT, nil, dir16, &si, &pi); err != nil {
		return 0, fmt.Errorf("starting %s: %w", cmdline, err)
	}
	windows.CloseHandle(pi.Thread)
	if err := debugDetach(pi.ProcessId); err != nil {
		windows.TerminateProcess(pi.Process, 1)
		windows.CloseHandle(pi.Process)
		return 0, fmt.Errorf("letting %s run on its own: %w", filepath.Base(cmdline), err)
	}
	return pi.Process, nil
}

// debugDetach ends this thread's debugging of pid and leaves it running.
func debugDetach(pid uint32) error {
	k32 := windows.NewLazySystemDLL("kernel32.dll")
	killOnExit, stop := k32.NewProc("DebugSetProcessKillOnExit"), k32.NewProc("DebugActiveProcessStop")
	if err := errors.Join(killOnExit.Find(), stop.Find()); err != nil {
		return err
	}
	killOnExit.Call(0)
	if r, _, err := stop.Call(uintptr(pid)); r == 0 {
		return fmt.Errorf("DebugActiveProcessStop: %w", err)
	}
	return nil
}
