package installer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// DefaultStopTimeout bounds how long a stop waits for the agent to flush its journal.
	DefaultStopTimeout = 10 * time.Second
	// serviceStopTimeout is how long the service manager is told to wait before it kills
	// the agent: DefaultStopTimeout and room to spare.
	serviceStopTimeout = 30 * time.Second
)

// RunOptions configures RunService.
type RunOptions struct {
	// Run runs the agent until its context ends and returns its fatal error, if any.
	Run func(ctx context.Context) error
	// Name is the service's name, for the OS's service log; default ServiceName.
	Name string
	// StopTimeout bounds the wait for Run to return once it is told to stop;
	// default DefaultStopTimeout.
	StopTimeout time.Duration
}

// errUnexpectedExit is an agent that stopped although nobody asked it to: the service manager
// must see a failure, so that it starts the agent again.
var errUnexpectedExit = errors.New("the agent stopped by itself")

// RunService runs opts.Run as the OS's service manager expects of a service: it starts the
// agent at once under a context of its own; a stop request (the service manager's, or ctx
// ending on SIGTERM or Ctrl-C) cancels that context and waits at most StopTimeout for the
// journal to be flushed. It returns nil after a clean stop; a fatal error of the agent, or an
// agent that will not stop in time, is returned so that the process exits non-zero and the
// service manager restarts it. On Windows it talks to the service control manager directly,
// including at OS shutdown.
func RunService(ctx context.Context, opts RunOptions) error {
	if opts.Run == nil {
		return errors.New("RunService: nothing to run")
	}
	if opts.Name == "" {
		opts.Name = ServiceName
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	return runService(ctx, opts)
}

// program is the agent as the service manager sees it: Start returns at once, Stop cancels
// and waits a bounded time. It is github.com/kardianos/service's Interface contract, without
// the Service argument that tollgate has no use for.
type program struct {
	run     func(context.Context) error
	timeout time.Duration

	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned; err is set before
	err    error
}

func newProgram(opts RunOptions) *program {
	return &program{run: opts.Run, timeout: opts.StopTimeout, done: make(chan struct{})}
}

// Start starts the agent under a context derived from ctx and returns at once.
func (p *program) Start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		defer close(p.done)
		p.err = p.run(ctx)
		if p.err == nil && ctx.Err() == nil {
			p.err = errUnexpectedExit
		}
	}()
}

// Done is closed once the agent has returned, whether asked to or not.
func (p *program) Done() <-chan struct{} { return p.done }

// Err is the agent's error once Done is closed.
func (p *program) Err() error { return p.err }

// Stop cancels the agent and waits up to the time-out for it to return. It returns the
// agent's error, or a time-out.
func (p *program) Stop() error {
	p.cancel()
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		// The journal commits every record as it is made, so nothing recorded is lost;
		// what is lost is the final checkpoint, which only shortens the next replay.
		return fmt.Errorf("the agent did not stop within %s of being asked to; exiting without its final checkpoint", p.timeout)
	}
}

// supervise runs p until ctx ends or p fails: the service side of every OS but a Windows
// service, where the service manager's stop is a signal that ends ctx.
func supervise(ctx context.Context, p *program) error {
	p.Start(context.WithoutCancel(ctx))
	select {
	case <-ctx.Done():
		return p.Stop()
	case <-p.Done():
		return p.Err()
	}
}
