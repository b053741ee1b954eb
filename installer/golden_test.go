package installer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"howett.net/plist"

	"tollgate/config"
	"tollgate/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the code renders now")

// targets are the three OSes with their default paths, as platform.DefaultPaths gives them on
// each (checked on the OS that runs the test), and where IT puts the binary.
var targets = []struct {
	os     string
	paths  platform.Paths
	binary string
}{
	{"linux", platform.Paths{
		ConfigFile: "/etc/tollgate/tollgate.yaml", ConfigDir: "/etc/tollgate", StateDir: "/var/lib/tollgate",
		LogDir: "/var/log/tollgate", Socket: "/run/tollgate/tollgate.sock",
	}, "/usr/local/bin/tollgate"},
	{"darwin", platform.Paths{
		ConfigFile: "/Library/Application Support/tollgate/tollgate.yaml", ConfigDir: "/Library/Application Support/tollgate",
		StateDir: "/Library/Application Support/tollgate/state", LogDir: "/Library/Logs/tollgate", Socket: "/var/run/tollgate.sock",
	}, "/usr/local/tollgate/bin/tollgate"}, // root's on every Mac; Homebrew gives /usr/local/bin to a user on Intel
	{"windows", platform.Paths{
		ConfigFile: `C:\ProgramData\tollgate\tollgate.yaml`, ConfigDir: `C:\ProgramData\tollgate`,
		StateDir: `C:\ProgramData\tollgate\state`, LogDir: `C:\ProgramData\tollgate\logs`, Socket: `\\.\pipe\tollgate`,
	}, `C:\Program Files\tollgate\tollgate.exe`},
}

func planFor(t *testing.T, goos string) *Plan {
	t.Helper()
	for _, tg := range targets {
		if tg.os == goos {
			p, err := NewPlan(Options{OS: tg.os, Paths: tg.paths, Binary: tg.binary, Version: "dev"})
			if err != nil {
				t.Fatalf("NewPlan(%s): %v", goos, err)
			}
			return p
		}
	}
	t.Fatalf("no target %s", goos)
	return nil
}

func TestTargetPathsAreThePlatformDefaults(t *testing.T) {
	for _, tg := range targets {
		if tg.os == runtime.GOOS {
			if got := platform.DefaultPaths(); got != tg.paths {
				t.Errorf("platform.DefaultPaths(): got %+v, want the golden tests' %+v", got, tg.paths)
			}
		}
	}
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./installer -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code renders (check the change, then go test ./installer -run Golden -update):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestGolden renders every artifact of every OS through NewPlan, the path install takes, and
// compares it with the reviewed copy in testdata/golden.
func TestGolden(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.os, func(t *testing.T) {
			p := planFor(t, tg.os)
			for _, f := range p.Files {
				base := f.Path[strings.LastIndexAny(f.Path, `/\`)+1:]
				golden(t, tg.os+"/"+base, f.Data)
			}
			if p.Windows != nil {
				data, err := p.Windows.JSON()
				if err != nil {
					t.Fatal(err)
				}
				golden(t, tg.os+"/service.json", data)
			}
			var dry bytes.Buffer
			if err := p.Describe(&dry); err != nil {
				t.Fatal(err)
			}
			golden(t, tg.os+"/dry-run.txt", dry.Bytes())
		})
	}
}

func TestGoldenFilesAreWhatEachOSNeeds(t *testing.T) {
	want := map[string][]string{
		"linux":   {"/etc/tollgate/tollgate.yaml", "/etc/systemd/system/tollgate.service", "/etc/xdg/autostart/tollgate-notifier.desktop"},
		"darwin":  {"/Library/Application Support/tollgate/tollgate.yaml", "/Library/LaunchDaemons/com.tollgate.agent.plist", "/Library/LaunchAgents/com.tollgate.notifier.plist"},
		"windows": {`C:\ProgramData\tollgate\tollgate.yaml`},
	}
	for _, tg := range targets {
		var got []string
		for _, f := range planFor(t, tg.os).Files {
			got = append(got, f.Path)
		}
		if strings.Join(got, "\n") != strings.Join(want[tg.os], "\n") {
			t.Errorf("%s: got files %q, want %q", tg.os, got, want[tg.os])
		}
	}
}

// TestPlistsParse reads both macOS plists back as XML property lists and checks what
// launchd acts on.
func TestPlistsParse(t *testing.T) {
	p := planFor(t, "darwin")
	tests := []struct {
		file string
		want map[string]any
	}{
		{"/Library/LaunchDaemons/com.tollgate.agent.plist", map[string]any{
			"Label":     "com.tollgate.agent",
			"RunAtLoad": true,
			"KeepAlive": true,
			"ProgramArguments": []any{"/usr/local/tollgate/bin/tollgate", "run", "--service", "--config", "/Library/Application Support/tollgate/tollgate.yaml",
				"--state", "/Library/Application Support/tollgate/state", "--socket", "/var/run/tollgate.sock"},
			"WorkingDirectory":  "/",
			"Umask":             uint64(0o077),
			"ExitTimeOut":       uint64(30),
			"StandardErrorPath": "/Library/Logs/tollgate/service.log",
		}},
		{"/Library/LaunchAgents/com.tollgate.notifier.plist", map[string]any{
			"Label":                  "com.tollgate.notifier",
			"RunAtLoad":              true,
			"KeepAlive":              map[string]any{"SuccessfulExit": false},
			"ProgramArguments":       []any{"/usr/local/tollgate/bin/tollgate", "notifier"},
			"LimitLoadToSessionType": "Aqua",
			"ProcessType":            "Interactive",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var data []byte
			for _, f := range p.Files {
				if f.Path == tt.file {
					data = f.Data
				}
			}
			var got map[string]any
			format, err := plist.Unmarshal(data, &got)
			if err != nil {
				t.Fatalf("parsing %s: %v", tt.file, err)
			}
			if format != plist.XMLFormat {
				t.Errorf("got format %d, want XML (%d)", format, plist.XMLFormat)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestWindowsSettings(t *testing.T) {
	p := planFor(t, "windows")
	data, err := p.Windows.JSON()
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var got WindowsService
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("service.json does not read back: %v", err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"command line", got.BinaryPathName, `"C:\Program Files\tollgate\tollgate.exe" run --service --config C:\ProgramData\tollgate\tollgate.yaml --state C:\ProgramData\tollgate\state --socket \\.\pipe\tollgate`},
		{"account", got.Account, "LocalSystem"},
		{"start", got.StartType, "automatic"},
		{"recovery", len(got.Recovery), 3},
		{"every action restarts", got.Recovery[0].Action + got.Recovery[1].Action + got.Recovery[2].Action, "restartrestartrestart"},
		{"reset period", got.RecoveryResetPeriod, Duration(24 * 3600e9)},
		{"non-crash failures recover", got.RecoveryOnNonCrashFailures, true},
		{"pre-shutdown", got.PreShutdownTimeout > Duration(DefaultStopTimeout), true},
		{"notifier", got.Notifier.Data, `"C:\Program Files\tollgate\tollgate.exe" notifier`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	var config, state Dir
	for _, d := range p.Dirs {
		switch d.Path {
		case `C:\ProgramData\tollgate`:
			config = d
		case `C:\ProgramData\tollgate\state`:
			state = d
		}
	}
	// Protected (P), so that ProgramData's "Users may create files" is not inherited.
	if !strings.HasPrefix(config.SDDL, "D:P(") || strings.Contains(config.SDDL, ";FA;;;BU") || !strings.Contains(config.SDDL, ";0x1200a9;;;BU") {
		t.Errorf("config folder ACL %q: want protected, users read and execute only", config.SDDL)
	}
	if !strings.HasPrefix(state.SDDL, "D:P(") || strings.Contains(state.SDDL, "BU") || strings.Contains(state.SDDL, "AU") || strings.Contains(state.SDDL, "WD") {
		t.Errorf("state folder ACL %q: want protected, no users", state.SDDL)
	}
}

// TestDefaultConfigLoads: the documented default is valid but for the ledger, which only
// IT can name.
func TestDefaultConfigLoads(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.os, func(t *testing.T) {
			f := planFor(t, tg.os).ConfigFile()
			_, err := config.Parse("tollgate.yaml", f.Data)
			var ce *config.Error
			if !errors.As(err, &ce) || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(ce.Msg, "is not set: set ledger.url") {
				t.Fatalf("got %v, want only the missing ledger.url", err)
			}
			if !bytes.Contains(f.Data, []byte(tg.paths.LogDir)) {
				t.Errorf("default config does not log into %s:\n%s", tg.paths.LogDir, f.Data)
			}
		})
	}
}

func TestNoMountNamespaceHardening(t *testing.T) {
	unit := string(planFor(t, "linux").filesOf(RoleService)[0].Data)
	// Each of these gives the service a mount namespace, where the gate's fanotify mount
	// marks would miss every user's launch (see systemdUnit).
	for _, opt := range []string{"ProtectSystem=", "ProtectHome=", "PrivateTmp=", "ReadWritePaths=", "ReadOnlyPaths=", "InaccessiblePaths=",
		"ProtectKernelTunables=", "ProtectKernelModules=", "ProtectKernelLogs=", "ProtectControlGroups=", "PrivateDevices=",
		"ProtectProc=", "ProcSubset=", "PrivateMounts=", "BindPaths=", "TemporaryFileSystem=", "ProtectHostname=", "DynamicUser="} {
		for _, line := range strings.Split(unit, "\n") {
			if strings.HasPrefix(line, opt) {
				t.Errorf("unit sets %s", line)
			}
		}
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct {
		args                  []string
		systemd, desktop, win string
		shell                 string
	}{
		{
			args:    []string{"/usr/local/bin/tollgate", "notifier"},
			systemd: "/usr/local/bin/tollgate notifier", desktop: "/usr/local/bin/tollgate notifier",
			win: "/usr/local/bin/tollgate notifier", shell: "/usr/local/bin/tollgate notifier",
		},
		{
			args:    []string{"/opt/my tools/tollgate", "run"},
			systemd: `"/opt/my tools/tollgate" run`, desktop: `"/opt/my tools/tollgate" run`,
			win: `"/opt/my tools/tollgate" run`, shell: `'/opt/my tools/tollgate' run`,
		},
		{
			args:    []string{`/opt/a"b$c%d\e`, ""},
			systemd: `"/opt/a\"b$c%%d\\e" ""`, desktop: `"/opt/a\\"b\\$c%%d\\\\e" ""`,
			win: `/opt/a\"b$c%d\e ""`, shell: `'/opt/a"b$c%d\e' ''`,
		},
		{
			args:    []string{`C:\Program Files\x\`, `a\"b`},
			systemd: `"C:\\Program Files\\x\\" "a\\\"b"`, desktop: `"C:\\\\Program Files\\\\x\\\\" "a\\\\\\"b"`,
			win: `"C:\Program Files\x\\" a\\\"b`, shell: `'C:\Program Files\x\' 'a\"b'`,
		},
	}
	for _, tt := range tests {
		for _, c := range []struct{ name, got, want string }{
			{"systemd", systemdCommandLine(tt.args), tt.systemd},
			{"desktop", desktopExec(tt.args), tt.desktop},
			{"windows", windowsCommandLine(tt.args), tt.win},
			{"shell", shellCommandLine(tt.args), tt.shell},
		} {
			if c.got != c.want {
				t.Errorf("%s %q: got %s, want %s", c.name, tt.args, c.got, c.want)
			}
		}
	}
}

func TestPlanRefuses(t *testing.T) {
	linux := targets[0]
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown OS", Options{OS: "plan9", Paths: linux.paths, Binary: linux.binary}, "not plan9"},
		{"relative binary", Options{OS: "linux", Paths: linux.paths, Binary: "tollgate"}, "tollgate is not an absolute path"},
		{"relative config path", Options{OS: "linux", Paths: platform.Paths{ConfigFile: "tollgate.yaml", ConfigDir: "/etc/tollgate",
			StateDir: "/var/lib/tollgate", LogDir: "/var/log/tollgate", Socket: "/run/tollgate/s"}, Binary: linux.binary}, "tollgate.yaml is not an absolute path"},
		{"folder not named for tollgate", Options{OS: "linux", Paths: platform.Paths{ConfigFile: "/etc/x.yaml", ConfigDir: "/etc",
			StateDir: "/var/lib/tollgate", LogDir: "/var/log/tollgate", Socket: "/run/tollgate/s"}, Binary: linux.binary}, "/etc does not name tollgate"},
		{"a quote in the binary's path", Options{OS: "linux", Paths: linux.paths, Binary: `/opt/a"b/tollgate`}, "systemd will not run"},
		{"a template in a path", Options{OS: "linux", Paths: linux.paths, Binary: "/opt/{{x}}/tollgate"}, "contains {{"},
		{"a missing config", Options{OS: "linux", Paths: linux.paths, Binary: linux.binary, Config: "/does/not/exist.yaml"}, "the config to install"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlan(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
