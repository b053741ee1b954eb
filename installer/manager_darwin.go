package installer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// serviceKind names the service definition in messages.
const serviceKind = "LaunchDaemon"

// launchdBootoutWait bounds the wait for launchd to unload the job: bootout waits for the
// process to exit, up to the plist's ExitTimeOut, and a little more is allowed for launchd.
const launchdBootoutWait = 40 * time.Second

// systemManager is launchd, driven with launchctl's domain commands (print, enable,
// bootstrap, kickstart, bootout); launchd.go decides which to run. The plists are written
// by the installer itself, root:wheel 0644 whatever the umask, which launchd requires.
type systemManager struct {
	p *Plan
}

func newSystemManager(p *Plan) (manager, error) { return &systemManager{p: p}, nil }

func (m *systemManager) label() string { return DarwinAgentLabel }

// job asks launchd about the LaunchDaemon.
func (m *systemManager) job() launchdLoaded {
	out, err := exec.Command("/bin/launchctl", "print", "system/"+m.label()).Output()
	return parseLaunchctlPrint(string(out), err == nil)
}

// state reports the service as running while launchd has it loaded: it runs, or launchd will
// start it again, so only unloading stops it.
func (m *systemManager) state() (serviceState, error) {
	st, err := definitionState(m.p.Service.File)
	if err != nil || !st.installed {
		return st, err
	}
	st.running = m.job().loaded
	return st, nil
}

func (m *systemManager) register(upgrade bool) error {
	if upgrade {
		if err := m.stop(); err != nil {
			return fmt.Errorf("unloading the old %s to upgrade it: %w", serviceKind, err)
		}
	}
	// An earlier version wrote it through kardianos, moded by the umask: writing it anew
	// (a fresh file renamed in place) sets owner and mode.
	if err := writeFile(m.p.filesOf(RoleService)[0]); err != nil {
		return fmt.Errorf("writing the %s: %w", serviceKind, err)
	}
	for _, f := range m.p.filesOf(RoleAutostart) {
		if err := writeFile(f); err != nil {
			return err
		}
		// Users already logged in get the notifier now rather than at their next login.
		// Only the console user can be reached; failing that changes nothing.
		if uid, ok := consoleUser(); ok {
			exec.Command("/bin/launchctl", "bootout", "gui/"+uid+"/"+DarwinNotifierLabel).Run()
			exec.Command("/bin/launchctl", "bootstrap", "gui/"+uid, f.Path).Run()
		}
	}
	return nil
}

func (m *systemManager) unregister() error {
	if err := m.stop(); err != nil {
		return fmt.Errorf("unloading the %s: %w", serviceKind, err)
	}
	if uid, ok := consoleUser(); ok {
		exec.Command("/bin/launchctl", "bootout", "gui/"+uid+"/"+DarwinNotifierLabel).Run()
	}
	for _, f := range append(m.p.filesOf(RoleService), m.p.filesOf(RoleAutostart)...) {
		if err := removeFile(f.Path); err != nil {
			return err
		}
	}
	return nil
}

func (m *systemManager) start() error {
	for _, args := range launchdStartCommands(m.label(), m.p.Service.File, m.job()) {
		if err := launchctl(args...); err != nil {
			if out, _ := exec.Command("/bin/launchctl", "print-disabled", "system").Output(); launchdDisabled(string(out), m.label()) {
				return fmt.Errorf("%w; launchd keeps %s disabled: allow tollgate in System Settings > General > Login Items (Allow in the Background), or in the MDM profile that manages background items", err, m.label())
			}
			return err
		}
	}
	return nil
}

func (m *systemManager) stop() error {
	for _, args := range launchdStopCommands(m.label(), m.job()) {
		if err := launchctl(args...); err != nil && m.job().loaded {
			return err
		}
	}
	for deadline := time.Now().Add(launchdBootoutWait); m.job().loaded; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("launchd still has %s %v after launchctl bootout", m.label(), launchdBootoutWait)
		}
	}
	return nil
}

// launchctl runs launchctl with args and returns its message as the error when it fails.
func launchctl(args ...string) error {
	cmd := exec.Command("/bin/launchctl", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("launchctl %s: %s (exit %d)", args[0], bytes.TrimSpace(out.Bytes()), exit.ExitCode())
		}
		return fmt.Errorf("launchctl %s: %w", args[0], err)
	}
	return nil
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
