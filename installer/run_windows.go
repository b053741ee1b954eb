package installer

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/windows/svc"
)

// Under Wine (scripts/test-windows) the handler runs as the service control manager would drive
// it (TestServiceHandlerWindows); svc.Run itself does not: Wine runs services in session 1, where
// svc.IsWindowsService is false.

// exitFatal is the service-specific exit code of an agent that failed: a non-zero code that
// the recovery actions count as a failure (RecoveryOnNonCrashFailures) and restart after.
const exitFatal = 1

// runService answers the service control manager itself rather than through kardianos,
// whose handler can neither end the service when the agent fails (it waits for a stop
// request forever) nor take SERVICE_CONTROL_PRESHUTDOWN, the early notice of an OS shutdown
// that leaves time to flush. Started from a console, it behaves as elsewhere.
func runService(ctx context.Context, opts RunOptions) error {
	isService, err := svc.IsWindowsService()
	if err != nil {
		return fmt.Errorf("telling whether this runs as a service: %w", err)
	}
	p := newProgram(opts)
	if !isService {
		return supervise(ctx, p)
	}
	h := &handler{ctx: ctx, p: p, log: zap.NewNop()}
	if core, closeLog, err := SystemLog(opts.Name); err == nil {
		h.log = zap.New(core).Named("service")
		defer closeLog()
	}
	if err := svc.Run(opts.Name, h); err != nil {
		return fmt.Errorf("running as the %s service: %w", opts.Name, err)
	}
	return h.err
}

type handler struct {
	ctx context.Context
	p   *program
	log *zap.Logger
	err error // what the agent ended with; read after svc.Run returns
}

func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	h.p.Start(context.WithoutCancel(h.ctx))
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown}
	for {
		select {
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown, svc.PreShutdown:
				return h.stop(status)
			}
		case <-h.ctx.Done():
			return h.stop(status)
		case <-h.p.Done():
			h.err = h.p.Err()
			h.log.Error("the agent stopped with an error; Windows restarts it per the service's recovery actions", zap.Error(h.err))
			return true, exitFatal
		}
	}
}

func (h *handler) stop(status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StopPending, WaitHint: uint32((h.p.timeout + 2*time.Second) / time.Millisecond)}
	if err := h.p.Stop(); err != nil {
		// Still a clean stop to the SCM: a failure would trigger the recovery actions and
		// start the agent again, against the stop that was asked for.
		h.err = err
		h.log.Warn("the agent did not stop cleanly", zap.Error(err))
	}
	return false, 0
}
