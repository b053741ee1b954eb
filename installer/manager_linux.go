package installer

import (
	"fmt"

	"github.com/kardianos/service"
)

// serviceKind names the service definition in messages.
const serviceKind = "unit"

// newSystemManager is systemd: kardianos writes the unit from our rendering (as its
// SystemdScript template: the text has no {{ actions, so it comes out as it went in).
func newSystemManager(p *Plan) (manager, error) {
	unit := p.filesOf(RoleService)[0]
	m, err := newKardianos(p, service.KeyValue{"SystemdScript": string(unit.Data)})
	if err != nil {
		return nil, err
	}
	if m.svc.Platform() != "linux-systemd" {
		return nil, fmt.Errorf("the service needs systemd running as PID 1, and this system is run by %s; --root DIR writes the files under DIR instead", m.svc.Platform())
	}
	return m, nil
}

func (m *systemManager) register(upgrade bool) error {
	if err := m.install(upgrade); err != nil {
		return err
	}
	for _, f := range m.p.filesOf(RoleAutostart) {
		if err := writeFile(f); err != nil {
			return err
		}
	}
	return nil
}

func (m *systemManager) unregister() error { return m.uninstall() }
