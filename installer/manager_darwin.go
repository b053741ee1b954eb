package installer

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/kardianos/service"
)

// This file compiles for macOS in CI but is not exercised there: the tests run on Linux.

// serviceKind names the service definition in messages.
const serviceKind = "LaunchDaemon"

// newSystemManager is launchd: kardianos writes the LaunchDaemon from our rendering (as
// its LaunchdConfig template, passed through unchanged) and loads it. The notifier's
// LaunchAgent is ours to write: kardianos writes one plist per service.
func newSystemManager(p *Plan) (manager, error) {
	daemon := p.filesOf(RoleService)[0]
	return newKardianos(p, service.KeyValue{"LaunchdConfig": string(daemon.Data)})
}

func (m *systemManager) register(upgrade bool) error {
	if err := m.install(upgrade); err != nil {
		return err
	}
	// kardianos creates the plist with os.Create, so its mode follows the umask, and launchd
	// refuses a LaunchDaemon that is group- or world-writable or not root's.
	if err := secureDefinition(m.p.Service.File); err != nil {
		return fmt.Errorf("securing the %s: %w", serviceKind, err)
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
	if uid, ok := consoleUser(); ok {
		exec.Command("launchctl", "bootout", "gui/"+uid+"/"+DarwinNotifierLabel).Run()
	}
	return m.uninstall()
}

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
