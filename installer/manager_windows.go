package installer

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// systemManager is the service control manager: kardianos/service creates the service and
// its event log source; x/sys/windows/svc/mgr then sets what kardianos does not (all three
// recovery actions, recovery on non-crash failures, the pre-shutdown time-out, error
// control) and changes the command line on an upgrade, which kardianos cannot.
type systemManager struct {
	p   *Plan
	svc service.Service
}

func newSystemManager(p *Plan) (manager, error) {
	s, err := service.New(noRun{}, &service.Config{
		Name:        p.Service.Name,
		DisplayName: p.Service.DisplayName,
		Description: p.Service.Description,
		Executable:  p.Binary,
		Arguments:   p.Service.Args,
		Option:      service.KeyValue{"StartType": "automatic"},
	})
	if err != nil {
		return nil, fmt.Errorf("finding the service manager: %w", err)
	}
	return &systemManager{p: p, svc: s}, nil
}

func (m *systemManager) state() (serviceState, error) {
	st := serviceState{where: `the service "` + m.p.Service.Name + `"`}
	sm, err := mgr.Connect()
	if err != nil {
		return st, fmt.Errorf("connecting to the service control manager: %w", err)
	}
	defer sm.Disconnect()
	s, err := sm.OpenService(m.p.Service.Name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("opening the service: %w", err)
	}
	defer s.Close()
	st.installed = true
	cmdline, err := serviceCommandLine(s)
	if err != nil {
		return st, fmt.Errorf("reading the service's command line: %w", err)
	}
	st.where += " runs " + cmdline
	st.ours = strings.Contains(cmdline, " run "+serviceFlag)
	q, err := s.Query()
	if err != nil {
		return st, fmt.Errorf("querying the service: %w", err)
	}
	st.running = q.State != svc.Stopped
	return st, nil
}

// serviceCommandLine reads the command line a service runs with QueryServiceConfig alone:
// mgr's Config also reads settings through QueryServiceConfig2 (description, delayed start,
// SID type) that telling tollgate's service from another does not need, and a service
// manager without one of them (Wine's lacks delayed start) would stop every uninstall.
func serviceCommandLine(s *mgr.Service) (string, error) {
	for n := uint32(1024); ; {
		b := make([]byte, n)
		p := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&b[0]))
		err := windows.QueryServiceConfig(s.Handle, p, n, &n)
		if err == nil {
			return windows.UTF16PtrToString(p.BinaryPathName), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || n <= uint32(len(b)) {
			return "", err
		}
	}
}

// register creates (or, on an upgrade, updates) the service, its settings and the notifier's
// Run value. A first install that fails half-way removes what it made, so that a retry starts
// clean and no service without its recovery settings is left to start at boot; an upgrade that
// fails keeps the service that was there, since removing it would stop licensing.
func (m *systemManager) register(upgrade bool) (err error) {
	if !upgrade {
		// Creates the service and registers the event log source.
		if err := m.svc.Install(); err != nil {
			return fmt.Errorf("creating the service: %w", err)
		}
		defer func() {
			if err == nil {
				return
			}
			if uerr := m.unregister(); uerr != nil {
				err = fmt.Errorf("%w; removing the half-made service failed too (%v): run tollgate uninstall, then install again", err, uerr)
				return
			}
			err = fmt.Errorf("%w (the half-made service was removed: nothing is registered)", err)
		}()
	} else if err := eventlog.InstallAsEventCreate(m.p.Service.Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil && !strings.Contains(err.Error(), "exists") {
		return fmt.Errorf("registering the event log source: %w", err)
	}
	if err := m.configure(upgrade); err != nil {
		return err
	}
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("opening HKLM\\%s: %w", runKey, err)
	}
	defer k.Close()
	if err := k.SetStringValue(runValue, m.p.Windows.Notifier.Data); err != nil {
		return fmt.Errorf("setting the notifier's Run value: %w", err)
	}
	return nil
}

func (m *systemManager) configure(upgrade bool) error {
	w := m.p.Windows
	sm, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service control manager: %w", err)
	}
	defer sm.Disconnect()
	s, err := sm.OpenService(w.Name)
	if err != nil {
		return fmt.Errorf("opening the service %s: %w", w.Name, err)
	}
	defer s.Close()
	cfg, err := s.Config()
	if err != nil {
		return fmt.Errorf("reading the service's settings: %w", err)
	}
	if upgrade {
		cfg.BinaryPathName = w.BinaryPathName
		cfg.DisplayName = w.DisplayName
		cfg.Description = w.Description
		cfg.ServiceStartName = "LocalSystem"
		cfg.Password = ""
	}
	cfg.StartType = mgr.StartAutomatic
	cfg.DelayedAutoStart = w.DelayedAutoStart
	cfg.ErrorControl = mgr.ErrorNormal
	if err := s.UpdateConfig(cfg); err != nil {
		return fmt.Errorf("setting the service's command line and start: %w", err)
	}
	actions := make([]mgr.RecoveryAction, len(w.Recovery))
	for i, a := range w.Recovery {
		actions[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: time.Duration(a.Delay)}
	}
	if err := s.SetRecoveryActions(actions, uint32(time.Duration(w.RecoveryResetPeriod)/time.Second)); err != nil {
		return fmt.Errorf("setting the recovery actions: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(w.RecoveryOnNonCrashFailures); err != nil {
		return fmt.Errorf("setting recovery on non-crash failures: %w", err)
	}
	info := preshutdownInfo{timeoutMillis: uint32(time.Duration(w.PreShutdownTimeout) / time.Millisecond)}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_PRESHUTDOWN_INFO, (*byte)(unsafe.Pointer(&info))); err != nil {
		return fmt.Errorf("setting the pre-shutdown time-out: %w", err)
	}
	return nil
}

// preshutdownInfo is SERVICE_PRESHUTDOWN_INFO, which x/sys/windows does not define.
type preshutdownInfo struct{ timeoutMillis uint32 }

func (m *systemManager) unregister() error {
	if err := m.svc.Uninstall(); err != nil {
		return fmt.Errorf("removing the service: %w", err)
	}
	if err := clearLaunchGate(); err != nil {
		return fmt.Errorf("removing the launch gate's entries: %w", err)
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("opening HKLM\\%s: %w", runKey, err)
	}
	defer k.Close()
	if err := k.DeleteValue(runValue); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("removing the notifier's Run value: %w", err)
	}
	return nil
}

func (m *systemManager) start() error { return m.svc.Start() }
func (m *systemManager) stop() error  { return m.svc.Stop() }
