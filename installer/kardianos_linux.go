package installer

import (
	"errors"
	"fmt"

	"github.com/kardianos/service"
)

// systemManager is the OS's service manager through kardianos/service, which writes the
// service definition from our rendering (passed through unchanged as its template) and
// runs systemctl. macOS has its own manager (manager_darwin.go): kardianos's launchd code
// reads "running" from launchctl list and loads with launchctl load, which misjudge a job
// between respawns.
type systemManager struct {
	p   *Plan
	svc service.Service
}

func newKardianos(p *Plan, option service.KeyValue) (*systemManager, error) {
	s, err := service.New(noRun{}, &service.Config{
		Name:        p.Service.Name,
		DisplayName: p.Service.DisplayName,
		Description: p.Service.Description,
		Executable:  p.Binary,
		Arguments:   p.Service.Args,
		Option:      option,
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
		// A failed service is installed and not running; kardianos reports it as an error.
		return st, nil
	}
	st.running = status == service.StatusRunning
	return st, nil
}

// install registers the service definition; kardianos refuses to overwrite one, so an
// upgrade takes the old one out first.
func (m *systemManager) install(upgrade bool) error {
	if upgrade {
		if err := m.svc.Uninstall(); err != nil {
			return fmt.Errorf("removing the old %s to upgrade it: %w", serviceKind, err)
		}
	}
	if err := m.svc.Install(); err != nil {
		return fmt.Errorf("installing the %s: %w", serviceKind, err)
	}
	return nil
}

// uninstall removes the service definition and the notifier's autostart entries.
func (m *systemManager) uninstall() error {
	if err := m.svc.Uninstall(); err != nil {
		return fmt.Errorf("removing the %s: %w", serviceKind, err)
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
