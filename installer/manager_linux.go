package installer

import (
	"errors"
	"fmt"

	"github.com/kardianos/service"
)

// systemManager is systemd through kardianos/service, which writes the unit from our
// rendering (as its SystemdScript template: the text has no {{ actions, so it comes out as
// it went in) and runs systemctl.
type systemManager struct {
	p   *Plan
	svc service.Service
}

func newSystemManager(p *Plan) (manager, error) {
	unit := p.filesOf(RoleService)[0]
	s, err := service.New(noRun{}, &service.Config{
		Name:        p.Service.Name,
		DisplayName: p.Service.DisplayName,
		Description: p.Service.Description,
		Executable:  p.Binary,
		Arguments:   p.Service.Args,
		Option:      service.KeyValue{"SystemdScript": string(unit.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("finding the service manager: %w", err)
	}
	if s.Platform() != "linux-systemd" {
		return nil, fmt.Errorf("the service needs systemd running as PID 1, and this system is run by %s; --root DIR writes the files under DIR instead", s.Platform())
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
		// A failed unit is installed and not running; kardianos reports it as an error.
		return st, nil
	}
	st.running = status == service.StatusRunning
	return st, nil
}

func (m *systemManager) register(upgrade bool) error {
	if upgrade {
		// kardianos refuses to overwrite a unit: take the old one out of systemd first.
		if err := m.svc.Uninstall(); err != nil {
			return fmt.Errorf("removing the old unit to upgrade it: %w", err)
		}
	}
	if err := m.svc.Install(); err != nil {
		return fmt.Errorf("installing the unit: %w", err)
	}
	for _, f := range m.p.filesOf(RoleAutostart) {
		if err := writeFile(f); err != nil {
			return err
		}
	}
	return nil
}

func (m *systemManager) unregister() error {
	if err := m.svc.Uninstall(); err != nil {
		return fmt.Errorf("removing the unit: %w", err)
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
