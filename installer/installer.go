// Package installer installs, upgrades, removes, starts and stops the tollgate agent as the
// operating system's service: a systemd unit on Linux (through github.com/kardianos/service),
// a LaunchDaemon on macOS (through launchctl's domain commands), a LocalSystem service on
// Windows. It also creates the
// agent's folders with their owners and modes, places its configuration, registers the
// per-user notifier to start in every desktop session, and runs the agent under the service
// manager (RunService). It never runs the agent's logic itself.
//
// Everything an install writes is first computed as a Plan by NewPlan, a pure function of
// Options that renders any OS's artifacts on any OS: the golden tests, --dry-run and the real
// install all go through it.
package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"tollgate/platform"
)

// Names the service is known by. The Linux unit and the Windows service are "tollgate";
// launchd wants reverse-DNS labels.
const (
	ServiceName      = "tollgate"
	DarwinAgentLabel = "com.tollgate.agent"
	// DarwinNotifierLabel is the LaunchAgent that starts `tollgate notifier` in each session.
	DarwinNotifierLabel = "com.tollgate.notifier"
	displayName         = "tollgate licensing agent"
	description         = "Meters pay-per-use design software by the day and enforces its licences (tollgate)."
	// serviceFlag marks a command line as tollgate's own service: a service of our name whose
	// command line lacks it was made by someone else, and install leaves it alone.
	serviceFlag = "--service"
)

// Options says what to install where. Zero values mean the real thing.
type Options struct {
	// Root installs beneath this folder instead of into the system: every path moves under
	// it (platform.Paths.Under), the service definition points there, and no service manager
	// is called; nothing is started. For tests and trials. Only for the OS this runs on.
	Root string

	// Binary is the executable the service runs, as an absolute path; default: this
	// process's own executable, symlinks resolved. It is registered where it is, not copied.
	Binary string

	// Config is a config file to place as the main config file, replacing the one there.
	// Empty: keep the config in place or, on a first install, write the documented default.
	Config string

	// Paths are the agent's files; default platform.DefaultPaths(), moved under Root.
	// Required when OS is not the OS this runs on.
	Paths platform.Paths

	// OS is the system to plan for: "linux", "darwin" or "windows"; default runtime.GOOS.
	// Another OS's plan can be rendered and printed, not installed.
	OS string

	// Version is written into generated files' headers, to tell which release wrote them.
	Version string

	// LaunchGate turns on Windows's launch gate: each catalogue exe's Image File Execution
	// Options entry runs `tollgate gate` first (docs/deploying.md). Windows only; not with Root.
	LaunchGate bool
}

// Plan is everything an install creates and registers, computed before anything is touched.
type Plan struct {
	OS      string
	Root    string // as in Options
	Binary  string
	Version string
	Paths   platform.Paths
	// Service is what the service manager runs.
	Service Service
	// Dirs are created in order; Own ones get their owner and mode (or ACL) set, and are
	// removed by a purge. Their parents are created as needed.
	Dirs []Dir
	// Files are written by the install: the default config, the service definition (which
	// kardianos writes for a real install on Linux) and the notifier's autostart.
	Files []File
	// Windows holds what a Windows install registers with the service control manager.
	Windows *WindowsService `json:",omitempty"`
}

// Service is the agent's service: the binary and its arguments.
type Service struct {
	Name        string
	DisplayName string
	Description string
	Args        []string // after Binary
	// File is where the service definition lives (a unit or a plist); on Windows a rooted
	// install writes the settings it would register there, a real one has none.
	File string
}

// Dir is a folder the agent uses.
type Dir struct {
	Path string
	Mode fs.FileMode // Unix: owner root, group root (wheel on macOS)
	// SDDL is the folder's protected access list on Windows; empty inherits its parent's.
	SDDL    string
	Own     bool // tollgate's alone: its owner and mode are set, and a purge removes it
	Purpose string
}

// FileRole tells what a planned file is for, which decides how install treats it.
type FileRole int

const (
	// RoleConfig is the main config file: written only when none exists (the default) or
	// when one is given.
	RoleConfig FileRole = iota
	// RoleService is the service definition.
	RoleService
	// RoleAutostart starts the notifier in every user's desktop session.
	RoleAutostart
)

// File is a file the install writes, owned by root (or inheriting its folder's ACL).
type File struct {
	Path    string
	Mode    fs.FileMode
	Data    []byte
	Role    FileRole
	Purpose string
	// From is the file Data was read from (a given config), for messages.
	From string `json:",omitempty"`
}

// NewPlan computes what an install with opts would create. It reads opts.Config and, when
// planning for this OS, resolves the running executable; it writes nothing.
func NewPlan(opts Options) (*Plan, error) {
	p := &Plan{OS: opts.OS, Root: opts.Root, Binary: opts.Binary, Version: opts.Version, Paths: opts.Paths}
	if p.OS == "" {
		p.OS = runtime.GOOS
	}
	if p.Version == "" {
		p.Version = "dev"
	}
	switch p.OS {
	case "linux", "darwin", "windows":
	default:
		return nil, fmt.Errorf("tollgate installs on linux, darwin (macOS) and windows, not %s", p.OS)
	}
	native := p.OS == runtime.GOOS
	if p.Root != "" && !native {
		return nil, fmt.Errorf("--root installs for this OS (%s) only, not %s", runtime.GOOS, p.OS)
	}
	if p.Paths == (platform.Paths{}) {
		if !native {
			return nil, fmt.Errorf("planning for %s from %s needs its paths", p.OS, runtime.GOOS)
		}
		p.Paths = platform.DefaultPaths()
	}
	if p.Root != "" {
		root, err := filepath.Abs(p.Root)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", p.Root, err)
		}
		p.Root = root
		p.Paths = p.Paths.Under(root)
	}
	if p.Binary == "" {
		if !native {
			return nil, fmt.Errorf("planning for %s from %s needs the binary's path there", p.OS, runtime.GOOS)
		}
		exe, err := executable()
		if err != nil {
			return nil, err
		}
		p.Binary = exe
	}
	// A service starts in / or, on Windows, in system32: every path it is given must stand
	// on its own.
	for _, x := range []string{p.Binary, p.Paths.ConfigFile, p.Paths.ConfigDir, p.Paths.StateDir, p.Paths.LogDir} {
		if !isAbs(p.OS, x) {
			return nil, fmt.Errorf("%s is not an absolute path: a service does not start in a folder it could be relative to", x)
		}
	}
	if p.OS != "windows" && !isAbs(p.OS, p.Paths.Socket) {
		return nil, fmt.Errorf("socket %s is not an absolute path", p.Paths.Socket)
	}

	p.Service = Service{
		Name:        ServiceName,
		DisplayName: displayName,
		Description: description,
		Args: []string{"run", serviceFlag, "--config", p.Paths.ConfigFile,
			"--state", p.Paths.StateDir, "--socket", p.Paths.Socket},
	}
	if p.OS == "darwin" {
		p.Service.Name = DarwinAgentLabel
	}
	if err := p.planDirs(); err != nil {
		return nil, err
	}
	if err := p.planFiles(opts.Config); err != nil {
		return nil, err
	}
	return p, nil
}

func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding this program's path to register as the service: %w", err)
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("finding this program's path to register as the service: %w", err)
	}
	return filepath.Abs(exe)
}

// Access lists for Windows folders. P protects them from inheriting ProgramData's "Users
// may create files" (which the config package refuses); OICI passes them on to what is
// created inside. SY is LocalSystem (the service), BA Administrators, BU Users, and
// 0x1200a9 is read and execute.
const (
	sddlConfig  = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	sddlPrivate = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
)

func (p *Plan) planDirs() error {
	ps := p.Paths
	if p.OS == "windows" {
		p.Dirs = []Dir{
			{Path: ps.ConfigDir, SDDL: sddlConfig, Own: true, Purpose: "configuration: administrators write, users read"},
			{Path: p.DropinDir(), Own: true, Purpose: "drop-in configuration pushed by IT (inherits the folder's access list)"},
			{Path: ps.StateDir, SDDL: sddlPrivate, Own: true, Purpose: "journal and device identity: SYSTEM and administrators only"},
			{Path: ps.LogDir, SDDL: sddlPrivate, Own: true, Purpose: "logs: SYSTEM and administrators only"},
		}
		return nil
	}
	p.Dirs = []Dir{
		{Path: ps.ConfigDir, Mode: 0o755, Own: true, Purpose: "configuration: root writes, everyone reads"},
		{Path: p.join(ps.ConfigDir, "conf.d"), Mode: 0o755, Own: true, Purpose: "drop-in configuration pushed by IT"},
		{Path: ps.StateDir, Mode: 0o700, Own: true, Purpose: "journal and device identity: root only"},
		{Path: ps.LogDir, Mode: 0o750, Own: true, Purpose: "logs: root writes, its group reads"},
	}
	// On Linux the socket has a folder of its own, which the unit's RuntimeDirectory= makes
	// again at each start (/run is emptied at boot). macOS keeps it in /var/run, which is
	// not ours; under a root that folder is only made to exist.
	if p.OS == "linux" || p.Root != "" {
		p.Dirs = append(p.Dirs, Dir{Path: p.dir(ps.Socket), Mode: 0o755, Own: p.OS == "linux", Purpose: "the local API's socket: everyone may reach it"})
	}
	for _, d := range p.Dirs {
		if d.Own && !strings.Contains(d.Path, "tollgate") {
			// A purge removes Own folders whole: never one that is not plainly ours.
			return fmt.Errorf("%s does not name tollgate: refusing to take it over as the agent's own folder", d.Path)
		}
	}
	return nil
}

func (p *Plan) planFiles(configFrom string) error {
	if configFrom != "" {
		data, err := os.ReadFile(configFrom)
		if err != nil {
			return fmt.Errorf("the config to install: %w", err)
		}
		p.Files = append(p.Files, File{Path: p.Paths.ConfigFile, Mode: 0o644, Data: data, Role: RoleConfig, From: configFrom,
			Purpose: "the main config file, replacing any in place"})
	} else {
		data, err := defaultConfig(p)
		if err != nil {
			return err
		}
		p.Files = append(p.Files, File{Path: p.Paths.ConfigFile, Mode: 0o644, Data: data, Role: RoleConfig,
			Purpose: "the documented default config, only if no config is in place"})
	}
	switch p.OS {
	case "linux":
		unit, err := systemdUnit(p)
		if err != nil {
			return err
		}
		p.Service.File = p.rooted("/etc/systemd/system/" + ServiceName + ".service")
		p.Files = append(p.Files,
			File{Path: p.Service.File, Mode: 0o644, Data: unit, Role: RoleService, Purpose: "the systemd unit"},
			File{Path: p.rooted("/etc/xdg/autostart/tollgate-notifier.desktop"), Mode: 0o644, Data: desktopEntry(p), Role: RoleAutostart,
				Purpose: "starts `tollgate notifier` in every user's desktop session"})
	case "darwin":
		daemon, err := launchDaemon(p)
		if err != nil {
			return err
		}
		agent, err := launchAgent(p)
		if err != nil {
			return err
		}
		p.Service.File = p.rooted("/Library/LaunchDaemons/" + DarwinAgentLabel + ".plist")
		p.Files = append(p.Files,
			File{Path: p.Service.File, Mode: 0o644, Data: daemon, Role: RoleService, Purpose: "the LaunchDaemon"},
			File{Path: p.rooted("/Library/LaunchAgents/" + DarwinNotifierLabel + ".plist"), Mode: 0o644, Data: agent, Role: RoleAutostart,
				Purpose: "the LaunchAgent that starts `tollgate notifier` in every user's session"})
	case "windows":
		p.Windows = windowsService(p)
		if p.Root != "" {
			data, err := p.Windows.JSON()
			if err != nil {
				return err
			}
			p.Service.File = p.rooted(`\tollgate-service.json`)
			p.Files = append(p.Files, File{Path: p.Service.File, Mode: 0o644, Data: data, Role: RoleService,
				Purpose: "the settings a real install registers with the service control manager"})
		}
	}
	return nil
}

// ConfigFile returns the planned main config file.
func (p *Plan) ConfigFile() File {
	for _, f := range p.Files {
		if f.Role == RoleConfig {
			return f
		}
	}
	return File{}
}

// DropinDir is the folder IT pushes drop-in config files into.
func (p *Plan) DropinDir() string { return p.join(p.Paths.ConfigDir, "conf.d") }

// CommandLine is the service's command line, quoted as its OS's service manager reads it.
func (p *Plan) CommandLine() string {
	args := append([]string{p.Binary}, p.Service.Args...)
	switch p.OS {
	case "windows":
		return windowsCommandLine(args)
	case "linux":
		return systemdCommandLine(args)
	}
	return shellCommandLine(args)
}

// rooted moves an absolute system path under Root.
func (p *Plan) rooted(sys string) string {
	if p.Root == "" {
		return sys
	}
	return platform.Paths{ConfigFile: filepath.FromSlash(sys)}.Under(p.Root).ConfigFile
}

func (p *Plan) join(elem ...string) string {
	if p.OS == "windows" {
		return strings.Join(elem, `\`)
	}
	return path.Join(elem...)
}

func (p *Plan) dir(x string) string {
	if p.OS == "windows" {
		if i := strings.LastIndex(x, `\`); i >= 0 {
			return x[:i]
		}
		return x
	}
	return path.Dir(x)
}

func isAbs(goos, x string) bool {
	if goos == "windows" {
		return len(x) >= 3 && x[1] == ':' && (x[2] == '\\' || x[2] == '/') || strings.HasPrefix(x, `\\`)
	}
	return strings.HasPrefix(x, "/")
}

// Errors a verb maps to a clear message and a non-zero exit.
var (
	// ErrNotInstalled: there is no tollgate service to act on.
	ErrNotInstalled = errors.New("tollgate is not installed as a service")
	// ErrForeign: a service of tollgate's name exists that tollgate install did not make.
	ErrForeign = errors.New("a service named tollgate is already installed, but not by tollgate install")
	// ErrNotAdmin: only an administrator may install or control the service.
	ErrNotAdmin = errors.New("installing or controlling the tollgate service needs an administrator")
	// ErrRooted: a rooted install has no service manager to start or stop it.
	ErrRooted = errors.New("an install under --root has no service manager: run its command line yourself")
)
