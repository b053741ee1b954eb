package installer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/kardianos/service"
)

// This file compiles for macOS in CI but is not exercised there: the tests run on Linux.

// systemManager is launchd through kardianos/service, which writes the LaunchDaemon from
// our rendering (as its LaunchdConfig template, passed through unchanged) and loads it. The
// notifier's LaunchAgent is ours to write: kardianos writes one plist per service.
type systemManager struct {
	p   *Plan
	svc service.Service
}

func newSystemManager(p *Plan) (manager, error) {
	daemon := p.filesOf(RoleService)[0]
	s, err := service.New(noRun{}, &service.Config{
		Name:        p.Service.Name,
		DisplayName: p.Service.DisplayName,
		Description: p.Service.Description,
		Executable:  p.Binary,
		Arguments:   p.Service.Args,
		Option:      service.KeyValue{"LaunchdConfig": string(daemon.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("finding the service manager: %w", err)
	}
	return &systemManager{p: p, svc: s}, nil
}

func (m *systemManager) state() (serviceState, error) {
	st, err := definitionState(m.p.Service.File)
	if err != nil || !st.installed {
		return st, err
	}
	status, err := m.svc.Status()
	if err != nil && !errors.Is(err, service.ErrNotInstalled) {
		return st, nil
	}
	st.running = status == service.StatusRunning
	return st, nil
}

func (m *systemManager) register(upgrade bool) error {
	if upgrade {
		if err := m.svc.Uninstall(); err != nil {
			return fmt.Errorf("removing the old LaunchDaemon to upgrade it: %w", err)
		}
	}
	if err := m.svc.Install(); err != nil {
		return fmt.Errorf("installing the LaunchDaemon: %w", err)
	}
	for _, f := range m.p.filesOf(RoleAutostart) {
		if err := writeFile(f); err != nil {
			return err
		}
		// Users already logged in get the notifier now rather than at their next login.
		// Only the console user can be reached; failing that changes nothing.
		if uid, ok := consoleUser(); ok {
			exec.Command("launchctl", "bootout", "gui/"+uid+"/"+DarwinNotifierLabel).Run()
			exec.Command("launchctl", "bootstrap", "gui/"+uid, f.Path).Run()
		}
	}
	return nil
}

func (m *systemManager) unregister() error {
	if err := m.svc.Uninstall(); err != nil {
		return fmt.Errorf("removing the LaunchDaemon: %w", err)
	}
	if uid, ok := consoleUser(); ok {
		exec.Command("launchctl", "bootout", "gui/"+uid+"/"+DarwinNotifierLabel).Run()
	}
	for _, f := range m.p.filesOf(RoleAutostart) {
		if err := removeFile(f.Path); err != nil {
			return err
		}
	}
	return nil
}

func (m *systemManager) start() error { return m.svc.Start() }
func (m *systemManager) stop() error  { return m.svc.Stop() }

// consoleUser is the uid of the user at the Mac's screen, who owns /dev/console; root owns
// it at the login window.
func consoleUser() (string, bool) {
	fi, err := os.Stat("/dev/console")
	if err != nil {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return "", false
	}
	return strconv.FormatUint(uint64(st.Uid), 10), true
}
