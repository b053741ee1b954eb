package platform

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Linux reports process events through the kernel connector (netlink NETLINK_CONNECTOR,
// group CN_IDX_PROC). Older kernels answer a listen request from a process without
// CAP_NET_ADMIN with EPERM; recent ones (6.18 was tried) let anyone listen. Events name
// processes by pid in the host's pid namespace and reach only the host's network namespace.

const (
	procCnIdx       = 1 // CN_IDX_PROC
	procCnVal       = 1 // CN_VAL_PROC
	procCnListen    = 1 // PROC_CN_MCAST_LISTEN
	procEvNone      = 0 // PROC_EVENT_NONE: the answer to a listen request
	procEvExec      = 0x00000002
	procEvExit      = 0x80000000
	procCnMsgLen    = 20                // struct cn_msg, before its data
	procEvDataOff   = procCnMsgLen + 16 // proc_event.event_data in a netlink payload
	procConnRcvBuf  = 4 << 20
	procConnTimeout = 2 * time.Second // for the answer to the listen request
	procEventQueue  = 1024
	procEventBatch  = 256 // events applied under one lock and handed out in one Diff
)

type procEventKind int

const (
	procExecEvent  procEventKind = iota + 1
	procExitEvent                // of a whole process, not a thread
	procLostEvents               // the kernel dropped events: the socket's buffer overflowed
)

type procEvent struct {
	kind procEventKind
	pid  int32
}

// Watch hands the changes in the process table to fn from the kernel's process events as they
// come, and from a scan every SafetyPoll behind them, until ctx ends; it then returns nil. It
// returns at once, with an error wrapping ErrNoConnector, when the kernel gives this process
// no events, and with another error if the events stop. fn runs as in Run.
func (s *Source) Watch(ctx context.Context, fn func(Diff)) error {
	c, err := procOpenConnector()
	if err != nil {
		return err
	}
	events := make(chan procEvent, procEventQueue)
	stop := make(chan struct{})
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		readErr = c.read(stop, events)
	}()
	defer func() {
		close(stop)
		c.close() // wakes the reader from its receive
		<-done
	}()

	s.mode.Store(ModeConnector)
	defer s.mode.Store("")
	// Listening started before this scan, so every process is in the scan or in an event.
	if err := s.deliverScan(ctx, fn, true); err != nil {
		return err
	}
	safety := time.NewTicker(s.safetyPoll)
	defer safety.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return fmt.Errorf("reading process events: %w", readErr)
		case <-s.retuned:
			if err := s.deliverScan(ctx, fn, false); err != nil {
				s.log.Warn("scanning processes", zap.Error(err))
			}
		case <-safety.C:
			if err := s.deliverScan(ctx, fn, false); err != nil {
				s.log.Warn("scanning processes", zap.Error(err))
			}
		case ev := <-events:
			d, err := s.applyEvents(ctx, ev, events)
			if err != nil {
				s.log.Warn("scanning processes after lost events", zap.Error(err))
			}
			if !d.Empty() {
				fn(d)
			}
		}
	}
}

// applyEvents applies first and whatever else is queued in more, up to a batch.
func (s *Source) applyEvents(ctx context.Context, first procEvent, more <-chan procEvent) (Diff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Diff
	lost := false
	ev := first
	for i := 0; ; i++ {
		switch ev.kind {
		case procExecEvent:
			s.onExec(ctx, &d, ev.pid)
		case procExitEvent:
			s.onExit(ctx, &d, ev.pid)
		case procLostEvents:
			lost = true
		}
		if i+1 == procEventBatch || len(more) == 0 {
			break
		}
		ev = <-more
	}
	if lost {
		s.log.Info("the kernel dropped process events; scanning")
		return d, s.scanLocked(ctx, &d)
	}
	return d, nil
}

// onExec applies the kernel's word that pid runs a new program: a new process after fork, or
// a new program in place of the old one. The event may be older than the last scan, which may
// have seen the new program already.
func (s *Source) onExec(ctx context.Context, d *Diff, pid int32) {
	l := procListed{pid: pid}
	created, err := s.rd.created(ctx, l)
	if err != nil {
		s.skip(pid, err)
		return
	}
	if t := s.procs[pid]; t != nil {
		if t.key.Created == created && !s.rd.execd(ctx, l, t) {
			return
		}
		s.forget(d, t)
	}
	s.learn(ctx, d, l, created)
}

// onExit applies the kernel's word that the process with pid exits. The event may be older
// than the last scan, which may have found a new process with that pid; the process that
// exits has PF_EXITING set by the time the event is sent, so created fails for it.
func (s *Source) onExit(ctx context.Context, d *Diff, pid int32) {
	t := s.procs[pid]
	if t == nil {
		return
	}
	if created, err := s.rd.created(ctx, procListed{pid: pid}); err == nil && created == t.key.Created {
		return
	}
	s.forget(d, t)
}

// procConnector is a netlink socket listening to the kernel's process events.
type procConnector struct {
	f   *os.File // in the runtime's poller, so closing it wakes a blocked receive
	rc  syscall.RawConn
	buf []byte
}

func procOpenConnector() (*procConnector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("%w: netlink connector socket: %w", ErrNoConnector, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: procCnIdx}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: joining the process events group: %w", ErrNoConnector, err)
	}
	// A burst of process starts (a build, a login) can outrun the reader; the scan after an
	// overflow covers what was lost, a larger buffer makes that rare. FORCE passes the system's
	// limit, for root.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, procConnRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, procConnRcvBuf)
	}
	f := os.NewFile(uintptr(fd), "netlink-proc-connector")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoConnector, err)
	}
	c := &procConnector{f: f, rc: rc, buf: make([]byte, 8<<10)}
	if err := c.listen(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *procConnector) close() { c.f.Close() }

// listen asks the kernel to send process events and waits for its answer.
func (c *procConnector) listen() error {
	// The answer goes to every listener; the ack number tells ours from the others'.
	ack := uint32(time.Now().UnixNano())
	msg := procListenMsg(ack)
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err = errors.Join(err, serr); err != nil {
		return fmt.Errorf("%w: asking for process events: %w", ErrNoConnector, err)
	}
	if err := c.f.SetReadDeadline(time.Now().Add(procConnTimeout)); err != nil {
		return fmt.Errorf("%w: %w", ErrNoConnector, err)
	}
	defer c.f.SetReadDeadline(time.Time{})
	for {
		payloads, err := c.recv()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("%w: the kernel did not answer the request to listen "+
				"(it ignores processes outside the host's pid and user namespaces)", ErrNoConnector)
		case errors.Is(err, unix.ENOBUFS):
			continue
		case err != nil:
			return fmt.Errorf("%w: %w", ErrNoConnector, err)
		}
		for _, p := range payloads {
			errno, ok := procDecodeAck(p, ack+1)
			switch {
			case !ok:
			case errno == 0:
				return nil
			case errno == unix.EPERM:
				return fmt.Errorf("%w: this kernel sends process events only to root or holders of CAP_NET_ADMIN: %w",
					ErrNoConnector, errno)
			default:
				return fmt.Errorf("%w: the kernel refused to send process events: %w", ErrNoConnector, errno)
			}
		}
	}
}

// read sends the events it receives to out until stop closes (it returns nil) or the socket
// fails.
func (c *procConnector) read(stop <-chan struct{}, out chan<- procEvent) error {
	send := func(ev procEvent) bool {
		select {
		case out <- ev:
			return true
		case <-stop:
			return false
		}
	}
	for {
		payloads, err := c.recv()
		select {
		case <-stop:
			return nil
		default:
		}
		if errors.Is(err, unix.ENOBUFS) {
			if !send(procEvent{kind: procLostEvents}) {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		for _, p := range payloads {
			if ev, ok := procDecodeEvent(p); ok && !send(ev) {
				return nil
			}
		}
	}
}

// recv receives one datagram and returns its netlink payloads, valid until the next call.
func (c *procConnector) recv() ([][]byte, error) {
	var (
		n    int
		from unix.Sockaddr
		rerr error
	)
	err := c.rc.Read(func(fd uintptr) bool {
		n, from, rerr = unix.Recvfrom(int(fd), c.buf, 0)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	// Any process may send to this socket's port; only the kernel speaks for the kernel.
	if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseNetlinkMessage(c.buf[:n])
	if err != nil {
		return nil, fmt.Errorf("parsing a netlink message: %w", err)
	}
	payloads := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		payloads = append(payloads, m.Data)
	}
	return payloads, nil
}

// procListenMsg is a netlink message asking the connector for process events.
func procListenMsg(ack uint32) []byte {
	const n = unix.NLMSG_HDRLEN + procCnMsgLen + 4
	b := make([]byte, n)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], n) // nlmsg_len
	ne.PutUint16(b[4:], unix.NLMSG_DONE)
	cn := b[unix.NLMSG_HDRLEN:]
	ne.PutUint32(cn[0:], procCnIdx)
	ne.PutUint32(cn[4:], procCnVal)
	ne.PutUint32(cn[12:], ack)
	ne.PutUint16(cn[16:], 4) // len of the data: one enum
	ne.PutUint32(cn[procCnMsgLen:], procCnListen)
	return b
}

// procDecodeAck reads the answer to a listen request carrying ack-1.
func procDecodeAck(p []byte, ack uint32) (unix.Errno, bool) {
	ne := binary.NativeEndian
	if !procIsEvent(p) || ne.Uint32(p[12:]) != ack || ne.Uint32(p[procCnMsgLen:]) != procEvNone {
		return 0, false
	}
	return unix.Errno(ne.Uint32(p[procEvDataOff:])), true
}

// procDecodeEvent reads the exec and exit events of whole processes from a connector payload.
func procDecodeEvent(p []byte) (procEvent, bool) {
	if !procIsEvent(p) {
		return procEvent{}, false
	}
	ne := binary.NativeEndian
	pid := int32(ne.Uint32(p[procEvDataOff:]))
	tgid := int32(ne.Uint32(p[procEvDataOff+4:]))
	switch ne.Uint32(p[procCnMsgLen:]) {
	case procEvExec:
		return procEvent{kind: procExecEvent, pid: tgid}, true
	case procEvExit:
		if pid != tgid {
			return procEvent{}, false // a thread
		}
		return procEvent{kind: procExitEvent, pid: tgid}, true
	}
	return procEvent{}, false
}

func procIsEvent(p []byte) bool {
	ne := binary.NativeEndian
	return len(p) >= procEvDataOff+8 && ne.Uint32(p[0:]) == procCnIdx && ne.Uint32(p[4:]) == procCnVal
}
