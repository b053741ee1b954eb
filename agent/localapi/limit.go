package localapi

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"tollgate/platform"
)

// The local API is open to every local user, so no one of them may take what the agent
// needs to meter: descriptors for the process scan, the journal, the pre-exec gate and
// the ledger. Connections and event streams are counted per caller (the OS account) and
// in total; administrators have a budget of their own, so that `sudo tollgate status`
// answers during a flood.

// apiLimits are the local API's caps.
type apiLimits struct {
	Conns            int // all non-administrator connections at once
	ConnsPerCaller   int
	AdminConns       int // all administrators' connections at once, outside Conns
	Streams          int // all event streams at once
	StreamsPerCaller int
}

// fdReserve is how many descriptors the API never takes: the journal, the process
// source, the gate's events (each carries one), the ledger's connections, logs.
const fdReserve = 256

// limitsFor sizes the caps for a process allowed nofile descriptors: the API takes at
// most half of what is left after the reserve, and never more than 1,024 connections.
func limitsFor(nofile uint64) apiLimits {
	room := 0
	if nofile > fdReserve {
		room = int(min(nofile-fdReserve, 1<<20))
	}
	conns := min(max(room/2, 16), 1024)
	return apiLimits{Conns: conns, ConnsPerCaller: 16, AdminConns: 32, Streams: max(conns/2, 8), StreamsPerCaller: 4}
}

// limiter counts connections and streams per caller.
type limiter struct {
	lim apiLimits
	log *zap.Logger

	mu      sync.Mutex
	conns   map[string]int
	streams map[string]int
	total   int // non-administrator connections
	admins  int
	nstream int
	warned  map[string]time.Time // callers refused lately, so a flood is logged once per burst
}

func newLimiter(lim apiLimits, log *zap.Logger) *limiter {
	return &limiter{lim: lim, log: log, conns: map[string]int{}, streams: map[string]int{}, warned: map[string]time.Time{}}
}

// admitConn counts a new connection from p, or says why it is refused.
func (l *limiter) admitConn(p platform.Peer) (release func(), refused string) {
	key := p.Key()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case p.Admin && l.admins >= l.lim.AdminConns:
		refused = "too many administrator connections to the agent at once"
	case !p.Admin && l.conns[key] >= l.lim.ConnsPerCaller:
		refused = "too many connections to the agent from your account at once"
	case !p.Admin && l.total >= l.lim.Conns:
		refused = "the agent is busy: too many connections at once"
	}
	if refused != "" {
		l.warnLocked(key, p, refused)
		return nil, refused
	}
	l.conns[key]++
	if p.Admin {
		l.admins++
	} else {
		l.total++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.conns[key]--; l.conns[key] <= 0 {
				delete(l.conns, key)
			}
			if p.Admin {
				l.admins--
			} else {
				l.total--
			}
		})
	}, ""
}

// admitStream counts an event stream of p's, or says why it is refused.
func (l *limiter) admitStream(p platform.Peer) (release func(), refused string) {
	key := p.Key()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.streams[key] >= l.lim.StreamsPerCaller:
		refused = "too many event streams from your account at once; close a notifier"
	case l.nstream >= l.lim.Streams:
		refused = "the agent is busy: too many event streams at once"
	}
	if refused != "" {
		l.warnLocked(key, p, refused)
		return nil, refused
	}
	l.streams[key]++
	l.nstream++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.streams[key]--; l.streams[key] <= 0 {
			delete(l.streams, key)
		}
		l.nstream--
	}, ""
}

// floodQuiet is how long a caller must go without being refused before a new refusal is
// logged again.
const floodQuiet = time.Minute

func (l *limiter) warnLocked(key string, p platform.Peer, why string) {
	now := time.Now()
	last, seen := l.warned[key]
	l.warned[key] = now
	if seen && now.Sub(last) < floodQuiet {
		return
	}
	if len(l.warned) > 1024 { // forget quiet callers; a refusal logged twice is harmless
		for k, t := range l.warned {
			if now.Sub(t) >= floodQuiet {
				delete(l.warned, k)
			}
		}
	}
	l.log.Warn("local API caller refused; further refusals of this caller are not logged until it has been quiet a minute",
		zap.String("caller", key), zap.String("account", p.User), zap.Int("pid", p.PID), zap.String("why", why))
}

// limitListener identifies each caller as it connects and refuses those over their
// caps, and waits out a lack of descriptors instead of failing.
type limitListener struct {
	net.Listener
	lim *limiter
	log *zap.Logger
}

func (ln *limitListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				if wait == 0 {
					ln.log.Warn("out of file descriptors accepting local API connections; retrying", zap.Error(err))
				}
				wait = min(max(2*wait, 5*time.Millisecond), time.Second)
				time.Sleep(wait)
				continue
			}
			return nil, err
		}
		wait = 0
		p, err := platform.PeerOf(c)
		if err != nil {
			// Unidentified: served, so that the handlers refuse it with a reason, but
			// counted as one caller.
			p = platform.Peer{UID: -1, GID: -1}
		}
		release, why := ln.lim.admitConn(p)
		if why != "" {
			refuse(c, why)
			continue
		}
		lc := &limitedConn{Conn: c, release: release}
		if err != nil {
			return lc, nil
		}
		return identifiedConn{limitedConn: lc, peer: p}, nil
	}
}

// refuse answers a connection over its caps with a 503 and closes it, without waiting
// for its request: the kernel keeps what it sent, and the answer is short.
func refuse(c net.Conn, why string) {
	body := `{"code":"` + CodeTooManyConnections + `","message":"` + why + `"}` + "\n"
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body))
	c.Close()
}

// limitedConn is an accepted connection that gives back its slot when closed.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// identifiedConn is a limitedConn whose caller the OS named (platform.IdentifiedConn).
// One whose caller it could not name stays a bare limitedConn: ConnContext then stores
// no peer and the handlers refuse the request.
type identifiedConn struct {
	*limitedConn
	peer platform.Peer
}

func (c identifiedConn) Peer() platform.Peer { return c.peer }
