package installer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The launchctl outputs in testdata/launchctl are as macOS 14 prints them for the
// LaunchDaemon; none of this runs launchctl, which exists only on a Mac.

func readLaunchctl(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "launchctl", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLaunchctlPrint(t *testing.T) {
	const label, plist = DarwinAgentLabel, "/Library/LaunchDaemons/com.tollgate.agent.plist"
	tests := []struct {
		file      string
		exited0   bool
		want      launchdLoaded
		wantStart [][]string
		wantStop  [][]string
	}{
		{"print-running.txt", true, launchdLoaded{loaded: true, state: "running", pid: 412, lastExit: "(never exited)"},
			[][]string{{"enable", "system/" + label}},
			[][]string{{"bootout", "system/" + label}}},
		// Between respawns, as after a default install with no ledger yet: no pid, and
		// launchd will start it again, so stopping must unload it.
		{"print-spawn-scheduled.txt", true, launchdLoaded{loaded: true, state: "spawn scheduled", lastExit: "78: EX_CONFIG"},
			[][]string{{"enable", "system/" + label}, {"kickstart", "system/" + label}},
			[][]string{{"bootout", "system/" + label}}},
		{"print-not-running.txt", true, launchdLoaded{loaded: true, state: "not running", lastExit: "0"},
			[][]string{{"enable", "system/" + label}, {"kickstart", "system/" + label}},
			[][]string{{"bootout", "system/" + label}}},
		{"print-not-found.txt", false, launchdLoaded{},
			[][]string{{"enable", "system/" + label}, {"bootstrap", "system", plist}},
			nil},
	}
	for _, tt := range tests {
		got := parseLaunchctlPrint(readLaunchctl(t, tt.file), tt.exited0)
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.file, got, tt.want)
		}
		if start := launchdStartCommands(label, plist, got); !reflect.DeepEqual(start, tt.wantStart) {
			t.Errorf("%s: start runs %q, want %q", tt.file, start, tt.wantStart)
		}
		if stop := launchdStopCommands(label, got); !reflect.DeepEqual(stop, tt.wantStop) {
			t.Errorf("%s: stop runs %q, want %q", tt.file, stop, tt.wantStop)
		}
	}
}

func TestLaunchctlPrintDisabled(t *testing.T) {
	tests := []struct {
		file, label string
		want        bool
	}{
		{"print-disabled.txt", DarwinAgentLabel, true},
		{"print-disabled.txt", "com.openssh.sshd", false},
		{"print-disabled.txt", "com.example.absent", false},
		{"print-disabled-enabled.txt", DarwinAgentLabel, false},
		{"print-disabled-enabled.txt", "com.apple.ftpd", true},
	}
	for _, tt := range tests {
		if got := launchdDisabled(readLaunchctl(t, tt.file), tt.label); got != tt.want {
			t.Errorf("%s, %s: got disabled %v, want %v", tt.file, tt.label, got, tt.want)
		}
	}
}
