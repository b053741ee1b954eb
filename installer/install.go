package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"tollgate/config"
	"tollgate/platform"
)

// manager registers the service with the OS's service manager (kardianos/service) or, for
// a rooted install, only writes its files.
type manager interface {
	// state tells whether a service of tollgate's name exists, whether tollgate install
	// made it, and whether it runs.
	state() (serviceState, error)
	// register installs the service and the notifier's autostart; with upgrade, it
	// replaces an existing registration.
	register(upgrade bool) error
	// unregister removes both.
	unregister() error
	start() error
	stop() error
}

type serviceState struct {
	installed, ours, running bool
	where                    string // the definition, for messages
}

func newManager(p *Plan) (manager, error) {
	if p.Root != "" {
		return rootedManager{p}, nil
	}
	return newSystemManager(p)
}

// ConfigAction is what an install did with the main config file.
type ConfigAction string

const (
	ConfigGiven   ConfigAction = "placed the given config"
	ConfigDefault ConfigAction = "wrote the default config"
	ConfigKept    ConfigAction = "kept the config in place"
)

// Result is what Install did.
type Result struct {
	Plan     *Plan
	Upgraded bool // a tollgate service was there and was replaced in place
	Config   ConfigAction
	// ConfigErr is why the config in place, with its drop-ins, does not load yet (the
	// agent will not start until a push fixes it); nil when it loads.
	ConfigErr error
	Started   bool
	// Gate is what turning the launch gate on did (install --launch-gate, Windows).
	Gate platform.GateChange
}

// Install installs the service as opts say, or upgrades an existing install in place: the
// journal and state are never touched, so unsent charges stay unsent and are sent later;
// the config is kept unless opts.Config gives one. A given config is refused, before anything
// is changed, if it does not load together with the drop-ins in place.
func Install(ctx context.Context, opts Options) (*Result, error) {
	p, err := NewPlan(opts)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(); err != nil {
		return nil, err
	}
	if err := checkBinary(p.Binary); err != nil {
		return nil, err
	}
	if opts.LaunchGate && (p.OS != "windows" || p.Root != "") {
		return nil, errors.New("--launch-gate is Windows's launch gate and sets the system's registry: not with --root, and not on " + p.OS + " (on Linux the agent's pre-exec gate is on by default)")
	}
	m, err := newManager(p)
	if err != nil {
		return nil, err
	}
	st, err := m.state()
	if err != nil {
		return nil, err
	}
	if st.installed && !st.ours {
		return nil, fmt.Errorf("%w (%s): remove it first", ErrForeign, st.where)
	}
	if err := makeDirs(p); err != nil {
		return nil, err
	}
	res := &Result{Plan: p, Upgraded: st.installed}
	cfg := p.ConfigFile()
	var staged string
	switch _, err := os.Stat(cfg.Path); {
	case cfg.From != "":
		// Staged beside the real one, so that it loads with the real drop-ins and a
		// rename puts it in place at once.
		if staged, err = stage(cfg); err != nil {
			return nil, err
		}
		defer os.Remove(staged)
		if _, err := config.Load(staged); err != nil {
			return nil, fmt.Errorf("the config %s does not load (the install changed nothing): %w", cfg.From, err)
		}
		res.Config = ConfigGiven
	case err == nil:
		res.Config = ConfigKept
	case errors.Is(err, fs.ErrNotExist):
		res.Config = ConfigDefault
	default:
		return nil, fmt.Errorf("config %s: %w", cfg.Path, err)
	}

	if st.running {
		if err := m.stop(); err != nil {
			return nil, fmt.Errorf("stopping the running agent to upgrade it: %w", err)
		}
	}
	switch res.Config {
	case ConfigGiven:
		if err := os.Rename(staged, cfg.Path); err != nil {
			return nil, fmt.Errorf("placing the config: %w", err)
		}
	case ConfigDefault:
		if err := writeFile(cfg); err != nil {
			return nil, err
		}
	}
	_, res.ConfigErr = config.Load(cfg.Path)
	if err := m.register(st.installed); err != nil {
		return nil, err
	}
	if opts.LaunchGate {
		if res.Gate, err = setLaunchGate(p); err != nil {
			return res, fmt.Errorf("installed, but turning the launch gate on failed: %w", err)
		}
	}
	if p.Root == "" {
		if err := m.start(); err != nil {
			return res, fmt.Errorf("installed, but starting it failed: %w", err)
		}
		res.Started = true
	}
	return res, nil
}

// UninstallResult is what Uninstall did.
type UninstallResult struct {
	Plan *Plan
	// Removed is whether a service was there and was removed.
	Removed bool
	// Purged lists the folders removed with everything in them; Kept those left.
	Purged, Kept []string
}

// Uninstall stops and removes the service and the notifier's autostart. It keeps the
// config, state and logs unless purge is set; a purge after an uninstall removes what was
// kept.
func Uninstall(ctx context.Context, opts Options, purge bool) (*UninstallResult, error) {
	p, err := NewPlan(opts)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(); err != nil {
		return nil, err
	}
	m, err := newManager(p)
	if err != nil {
		return nil, err
	}
	st, err := m.state()
	if err != nil {
		return nil, err
	}
	switch {
	case st.installed && !st.ours:
		return nil, fmt.Errorf("%w (%s): leaving it alone", ErrForeign, st.where)
	case !st.installed && !purge:
		return nil, ErrNotInstalled
	}
	res := &UninstallResult{Plan: p, Removed: st.installed}
	if st.installed {
		if st.running {
			if err := m.stop(); err != nil {
				return nil, fmt.Errorf("stopping the agent: %w", err)
			}
		}
		if err := m.unregister(); err != nil {
			return nil, err
		}
	}
	for _, d := range p.Dirs {
		if !d.Own || isInside(p.Dirs, d) {
			continue
		}
		if _, err := os.Stat(d.Path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if !purge {
			res.Kept = append(res.Kept, d.Path)
			continue
		}
		if err := os.RemoveAll(d.Path); err != nil {
			return res, fmt.Errorf("purging %s: %w", d.Path, err)
		}
		res.Purged = append(res.Purged, d.Path)
	}
	if !st.installed && len(res.Purged) == 0 {
		return nil, ErrNotInstalled
	}
	return res, nil
}

// isInside tells whether d lies in another of the folders, which removing that one removes.
func isInside(dirs []Dir, d Dir) bool {
	for _, o := range dirs {
		if o.Own && o.Path != d.Path {
			if rel, err := filepath.Rel(o.Path, d.Path); err == nil && filepath.IsLocal(rel) {
				return true
			}
		}
	}
	return false
}

// Start starts the installed service.
func Start(ctx context.Context, opts Options) error {
	return control(opts, func(m manager, _ serviceState) error { return m.start() })
}

// Stop stops the installed service; the service manager waits for the agent to flush.
func Stop(ctx context.Context, opts Options) error {
	return control(opts, func(m manager, st serviceState) error {
		if !st.running {
			return nil
		}
		return m.stop()
	})
}

// Restart stops the service if it runs, then starts it.
func Restart(ctx context.Context, opts Options) error {
	return control(opts, func(m manager, st serviceState) error {
		if st.running {
			if err := m.stop(); err != nil {
				return err
			}
		}
		return m.start()
	})
}

func control(opts Options, f func(manager, serviceState) error) error {
	p, err := NewPlan(opts)
	if err != nil {
		return err
	}
	if err := requireAdmin(); err != nil {
		return err
	}
	if p.Root != "" {
		return fmt.Errorf("%w: %s", ErrRooted, p.CommandLine())
	}
	m, err := newManager(p)
	if err != nil {
		return err
	}
	st, err := m.state()
	switch {
	case err != nil:
		return err
	case !st.installed:
		return ErrNotInstalled
	case !st.ours:
		return fmt.Errorf("%w (%s)", ErrForeign, st.where)
	}
	return f(m, st)
}

// makeDirs creates the plan's folders, their parents as plain 0755 folders, and sets the
// owner and mode (or access list) of tollgate's own, also when they already exist, so that
// an upgrade repairs them.
func makeDirs(p *Plan) error {
	for _, d := range p.Dirs {
		if err := mkdirParents(d.Path); err != nil {
			return err
		}
		if d.Own {
			if err := secureDir(d); err != nil {
				return fmt.Errorf("securing %s: %w", d.Path, err)
			}
		}
	}
	return nil
}

// mkdirParents creates dir and any missing parents, each 0755 whatever the umask: a private
// parent would keep users from their socket and the agent's config.
func mkdirParents(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirParents(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(dir, 0o755)
}

// stage writes f as a hidden temporary file in its folder, owned and moded as f will be,
// and returns its path.
func stage(f File) (string, error) {
	dir, name := filepath.Split(f.Path)
	tmp, err := os.CreateTemp(dir, "."+name+".install-*")
	if err != nil {
		return "", err
	}
	err = func() error {
		if _, err := tmp.Write(f.Data); err != nil {
			return err
		}
		if err := secureFile(tmp, f.Mode); err != nil {
			return err
		}
		return tmp.Sync()
	}()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing %s: %w", f.Path, err)
	}
	return tmp.Name(), nil
}

// writeFile puts f in place atomically: readers see the old file or the new one.
func writeFile(f File) error {
	if err := mkdirParents(filepath.Dir(f.Path)); err != nil {
		return err
	}
	tmp, err := stage(f)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, f.Path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", f.Path, err)
	}
	return nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// filesOf returns the plan's files with the given role.
func (p *Plan) filesOf(role FileRole) []File {
	var out []File
	for _, f := range p.Files {
		if f.Role == role {
			out = append(out, f)
		}
	}
	return out
}

// rootedManager installs under a root: it writes the service definition and autostart files
// and calls no service manager, so there is nothing to start or stop.
type rootedManager struct{ p *Plan }

func (m rootedManager) state() (serviceState, error) {
	return definitionState(m.p.Service.File)
}

// definitionState reads a service definition file: a tollgate one runs `run --service`.
func definitionState(path string) (serviceState, error) {
	st := serviceState{where: path}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("reading the service definition: %w", err)
	}
	st.installed = true
	st.ours = bytes.Contains(data, []byte(serviceFlag))
	return st, nil
}

func (m rootedManager) register(bool) error {
	for _, f := range append(m.p.filesOf(RoleService), m.p.filesOf(RoleAutostart)...) {
		if err := writeFile(f); err != nil {
			return err
		}
	}
	return nil
}

func (m rootedManager) unregister() error {
	for _, f := range append(m.p.filesOf(RoleService), m.p.filesOf(RoleAutostart)...) {
		if err := removeFile(f.Path); err != nil {
			return err
		}
	}
	return nil
}

func (rootedManager) start() error { return ErrRooted }
func (rootedManager) stop() error  { return ErrRooted }
