package installer

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode"

	"howett.net/plist"
)

// The renderers for every OS live here, built everywhere, so that each artifact and its
// quoting is golden-tested on any machine.

// header starts every generated file that has comments; install recognises its own files by
// the command line's serviceFlag, not by this text.
func header(p *Plan) string {
	return fmt.Sprintf("Written by `tollgate install` (tollgate %s). Reinstalling rewrites this file.", p.Version)
}

// The agent's Linux capabilities, each for one thing it does. Root without them can do none
// of these; with only these, root can do little else. Each was checked by running the agent
// without it: no gate (SYS_ADMIN), no session for another user's product (SYS_PTRACE), a
// denied product of another user left running (KILL), no gate for a product in a 0700 home
// folder (DAC_READ_SEARCH); the 6.18 kernel tried sends process events without NET_ADMIN.
var linuxCapabilities = []struct{ name, why string }{
	{"CAP_SYS_ADMIN", "fanotify: the pre-exec gate that stops a denied launch before it runs"},
	{"CAP_NET_ADMIN", "the kernel's process events (proc connector), which older kernels send only to its holders"},
	{"CAP_KILL", "closing a denied or unpaid product that another user runs"},
	{"CAP_SYS_PTRACE", "reading /proc/PID/exe of other users' processes, to tell which product they run"},
	{"CAP_DAC_READ_SEARCH", "reaching product paths in folders only their owner may list, such as a home folder"},
}

// systemdUnit renders the agent's unit. Its hardening is limited by one fact: the gate marks
// mounts with fanotify (FAN_MARK_MOUNT), and a mount mark sees only execs through that very
// mount. Every option that gives the service a mount namespace of its own (ProtectSystem,
// ProtectHome, PrivateTmp, ReadWritePaths, ProtectKernel*, ProtectControlGroups, PrivateDevices,
// ProtectProc, ProcSubset, ...) would place the marks on the service's copies of the mounts, and
// the gate would silently see no user's launch. The options kept work without one.
func systemdUnit(p *Plan) ([]byte, error) {
	if strings.ContainsAny(p.Binary, "\"'\\") || strings.ContainsFunc(p.Binary, unicode.IsControl) {
		return nil, fmt.Errorf("systemd will not run a program whose path has a quote, backslash or control character: %q; move tollgate to a plain path such as /usr/local/bin/tollgate", p.Binary)
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# %s", header(p))
	w("# Local changes belong in a drop-in: systemctl edit %s", ServiceName)
	w("[Unit]")
	w("Description=%s", displayName)
	w("After=network-online.target")
	w("Wants=network-online.target")
	w("# A workstation without its agent is not metered: never stop restarting it.")
	w("StartLimitIntervalSec=0")
	w("")
	w("[Service]")
	w("Type=exec")
	w("ExecStart=%s", p.CommandLine())
	w("WorkingDirectory=/")
	w("Restart=always")
	w("RestartSec=5s")
	w("# The agent flushes its journal within %s of SIGTERM; this leaves room before SIGKILL.", DefaultStopTimeout)
	w("TimeoutStopSec=%s", serviceStopTimeout)
	if sock := p.dir(p.Paths.Socket); strings.HasPrefix(sock, "/run/") && strings.Count(sock, "/") == 2 {
		w("# /run is emptied at boot: systemd makes the socket's folder at every start.")
		w("RuntimeDirectory=%s", strings.TrimPrefix(sock, "/run/"))
		w("RuntimeDirectoryMode=0755")
	}
	w("# The journal and logs are for root's eyes only.")
	w("UMask=0077")
	w("")
	w("# Hardening. No option here may give the service its own mount namespace: the pre-exec")
	w("# gate's fanotify mount marks would then watch the service's copies of the mounts and miss")
	w("# every user's launch. That rules out ProtectSystem, ProtectHome, PrivateTmp,")
	w("# ReadWritePaths, ProtectKernelTunables/Modules/Logs, ProtectControlGroups, PrivateDevices,")
	w("# ProtectProc and ProcSubset (the agent must read /proc of every user anyway).")
	w("# SystemCallFilter=@system-service would block fanotify_init, which is in @privileged.")
	w("NoNewPrivileges=yes")
	w("# Root keeps only these capabilities:")
	var caps []string
	for _, c := range linuxCapabilities {
		w("#   %s: %s", c.name, c.why)
		caps = append(caps, c.name)
	}
	w("CapabilityBoundingSet=%s", strings.Join(caps, " "))
	w("# Unix sockets (local API, user lookups), netlink (process events), IP (the ledger).")
	w("RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6")
	w("RestrictNamespaces=yes")
	w("RestrictRealtime=yes")
	w("RestrictSUIDSGID=yes")
	w("LockPersonality=yes")
	w("MemoryDenyWriteExecute=yes")
	w("SystemCallArchitectures=native")
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	out := b.String()
	if strings.Contains(out, "{{") {
		// kardianos renders the unit as a template; ours must pass through it unchanged.
		return nil, fmt.Errorf("a path contains {{, which the service library would read as a template: %s", p.CommandLine())
	}
	return []byte(out), nil
}

// systemdCommandLine quotes args for ExecStart=: systemd splits words like a shell, expands
// %-specifiers everywhere and $VARIABLES in the arguments (not in the program's path), and
// reads C escapes inside quotes.
func systemdCommandLine(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "%", "%%")
		if i > 0 {
			a = strings.ReplaceAll(a, "$", "$$")
		}
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\;") {
			words[i] = a
			continue
		}
		words[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(a) + `"`
	}
	return strings.Join(words, " ")
}

// desktopEntry renders the XDG autostart entry that starts the notifier in every user's
// desktop session (GNOME, KDE, Xfce, ... read /etc/xdg/autostart).
func desktopEntry(p *Plan) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", header(p))
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	b.WriteString("Version=1.0\n")
	b.WriteString("Name=tollgate notifier\n")
	b.WriteString("Comment=Shows tollgate's licensing messages: charges, denials and a low balance\n")
	fmt.Fprintf(&b, "Exec=%s\n", desktopExec([]string{p.Binary, "notifier"}))
	b.WriteString("Terminal=false\n")
	b.WriteString("NoDisplay=true\n")
	b.WriteString("X-GNOME-Autostart-enabled=true\n")
	return []byte(b.String())
}

// desktopExec quotes args for a desktop entry's Exec key: an argument with a reserved
// character is double-quoted with ", `, $ and \ escaped; % is doubled (field codes); then the
// value itself escapes \ again, as every desktop entry string does.
func desktopExec(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "%", "%%")
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`") {
			words[i] = a
			continue
		}
		words[i] = `"` + strings.NewReplacer(`"`, `\"`, "`", "\\`", `$`, `\$`, `\`, `\\`).Replace(a) + `"`
	}
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`).Replace(strings.Join(words, " "))
}

// launchdJob is the part of launchd.plist(5) that tollgate uses.
type launchdJob struct {
	Label                  string   `plist:"Label"`
	ProgramArguments       []string `plist:"ProgramArguments"`
	RunAtLoad              bool     `plist:"RunAtLoad"`
	KeepAlive              any      `plist:"KeepAlive"`
	WorkingDirectory       string   `plist:"WorkingDirectory,omitempty"`
	Umask                  int      `plist:"Umask,omitempty"`
	ExitTimeOut            int      `plist:"ExitTimeOut,omitempty"`
	StandardErrorPath      string   `plist:"StandardErrorPath,omitempty"`
	LimitLoadToSessionType string   `plist:"LimitLoadToSessionType,omitempty"`
	ProcessType            string   `plist:"ProcessType,omitempty"`
}

// launchDaemon renders the agent's LaunchDaemon: started at boot as root, restarted whenever
// it exits, in / with a private umask, and given time to flush its journal when stopped.
func launchDaemon(p *Plan) ([]byte, error) {
	return renderPlist(launchdJob{
		Label:             DarwinAgentLabel,
		ProgramArguments:  append([]string{p.Binary}, p.Service.Args...),
		RunAtLoad:         true,
		KeepAlive:         true,
		WorkingDirectory:  "/",
		Umask:             0o077,
		ExitTimeOut:       int(serviceStopTimeout / time.Second),
		StandardErrorPath: p.join(p.Paths.LogDir, "service.log"),
	})
}

// launchAgent renders the notifier's LaunchAgent: started in every user's graphical (Aqua)
// session and started again if it crashes, but not if the user quits it.
func launchAgent(p *Plan) ([]byte, error) {
	return renderPlist(launchdJob{
		Label:                  DarwinNotifierLabel,
		ProgramArguments:       []string{p.Binary, "notifier"},
		RunAtLoad:              true,
		KeepAlive:              map[string]bool{"SuccessfulExit": false},
		LimitLoadToSessionType: "Aqua",
		ProcessType:            "Interactive",
	})
}

func renderPlist(job launchdJob) ([]byte, error) {
	out, err := plist.MarshalIndent(job, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", job.Label, err)
	}
	out = append(out, '\n')
	if bytes.Contains(out, []byte("{{")) {
		return nil, fmt.Errorf("a path in %s contains {{, which the service library would read as a template", job.Label)
	}
	return out, nil
}

// shellCommandLine quotes args for a POSIX shell, for people to read and paste.
func shellCommandLine(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\$`;&|<>()*?[]#~{}!") {
			words[i] = a
			continue
		}
		words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(words, " ")
}

// Duration is a time.Duration written as text ("5s") in the Windows settings.
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText writes.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// RecoveryAction is what the service control manager does after a failure.
type RecoveryAction struct {
	Action string   // "restart"
	Delay  Duration // after the failure
}

// RegistryValue is a string value under HKEY_LOCAL_MACHINE.
type RegistryValue struct {
	Key, Name, Data string
}

// WindowsService is what a Windows install registers: the service with the service control
// manager, the event log source, and the notifier's Run entry.
type WindowsService struct {
	Name, DisplayName, Description string
	// BinaryPathName is the command line as the SCM stores it.
	BinaryPathName   string
	Account          string // LocalSystem
	StartType        string // automatic
	DelayedAutoStart bool
	ErrorControl     string // normal: a failure to start is logged
	// Recovery is set explicitly: kardianos configures none unless asked, and then only
	// one action. The last action repeats for every later failure; the count of failures
	// goes back to zero after RecoveryResetPeriod without one.
	Recovery            []RecoveryAction
	RecoveryResetPeriod Duration
	// RecoveryOnNonCrashFailures makes a stop with a non-zero exit code (the agent's fatal
	// error) count as a failure, not only a crash.
	RecoveryOnNonCrashFailures bool
	// PreShutdownTimeout is how long Windows waits at shutdown for the agent to flush its
	// journal, which it is told of before other services stop (SERVICE_CONTROL_PRESHUTDOWN).
	PreShutdownTimeout Duration
	// EventLogSource receives the service's warnings and errors in the Application log.
	EventLogSource string
	EventLogLevels []string
	// Pipe is the local API; the agent gives it its security descriptor when it listens
	// (platform.Listen): SYSTEM and Administrators full, Authenticated Users read/write
	// without creating instances, network logons denied.
	Pipe string
	// Notifier starts `tollgate notifier` at every user's logon.
	Notifier RegistryValue
}

const (
	runKey             = `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`
	runValue           = "tollgate notifier"
	preShutdownTimeout = 15 * time.Second
)

var windowsRecovery = []RecoveryAction{
	{Action: "restart", Delay: Duration(5 * time.Second)},
	{Action: "restart", Delay: Duration(30 * time.Second)},
	{Action: "restart", Delay: Duration(time.Minute)},
}

func windowsService(p *Plan) *WindowsService {
	return &WindowsService{
		Name:                       ServiceName,
		DisplayName:                displayName,
		Description:                description,
		BinaryPathName:             p.CommandLine(),
		Account:                    "LocalSystem",
		StartType:                  "automatic",
		ErrorControl:               "normal",
		Recovery:                   slices.Clone(windowsRecovery),
		RecoveryResetPeriod:        Duration(24 * time.Hour),
		RecoveryOnNonCrashFailures: true,
		PreShutdownTimeout:         Duration(preShutdownTimeout),
		EventLogSource:             ServiceName,
		EventLogLevels:             []string{"error", "warning", "information"},
		Pipe:                       p.Paths.Socket,
		Notifier:                   RegistryValue{Key: `HKLM\` + runKey, Name: runValue, Data: windowsCommandLine([]string{p.Binary, "notifier"})},
	}
}

// JSON renders the settings for people and golden files.
func (w *WindowsService) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// windowsCommandLine joins args as x/sys/windows/svc/mgr does for a service's command line
// (and Windows programs parse it back): an argument with a space or tab is double-quoted,
// a double quote is escaped with \, and backslashes before one are doubled.
func windowsCommandLine(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = windowsArg(a)
	}
	return strings.Join(words, " ")
}

func windowsArg(s string) string {
	if s == "" {
		return `""`
	}
	quote := strings.ContainsAny(s, " \t")
	if !quote && !strings.ContainsAny(s, `"`) {
		return s
	}
	var b strings.Builder
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	if quote {
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}

//go:embed default.yaml.tmpl
var defaultConfigTemplate string

// defaultConfig renders the config that a first install without --config places: valid
// YAML that says what to push, but without a ledger, which only IT can name.
func defaultConfig(p *Plan) ([]byte, error) {
	// A YAML single-quoted scalar takes a Windows path's backslashes as they are.
	yamlQuote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	t, err := template.New("default").Funcs(template.FuncMap{"yaml": yamlQuote}).Parse(defaultConfigTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, map[string]string{
		"Header":  header(p),
		"Dropins": p.join(p.Paths.ConfigDir, "conf.d"),
		"LogFile": p.join(p.Paths.LogDir, "agent.log"),
	})
	return b.Bytes(), err
}
