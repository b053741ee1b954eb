package platform

import (
	"context"
	"net"
	"strconv"
)

// Peer is the OS account on the other end of a local API connection, as the kernel reports it:
// callers are identified by the OS, never by anything they send.
type Peer struct {
	// UID and GID are the caller's effective user and group ids; -1 on Windows, where the
	// account is SID.
	UID int
	GID int
	// PID is the caller's process id at the time it connected.
	PID int
	// User is the account name ("alice"; "DOMAIN\alice" on Windows), or "" when the account
	// has no name on this machine (a uid without a passwd entry, say): handlers that need a
	// name must refuse such callers.
	User string
	// Admin reports whether the caller may act for other users (see each OS's PeerOf).
	Admin bool
	// SID is the caller's security identifier on Windows, "" elsewhere.
	SID string
}

// Key names the caller for counting: the SID on Windows, the uid elsewhere. Two
// connections with the same key are the same account, whatever name it has.
func (p Peer) Key() string {
	if p.SID != "" {
		return p.SID
	}
	return "uid:" + strconv.Itoa(p.UID)
}

// IdentifiedConn is a connection whose peer was identified when it was accepted (a
// listener that limits connections per caller must know who calls before it serves), so
// that ConnContext need not ask the kernel again.
type IdentifiedConn interface {
	net.Conn
	Peer() Peer
}

// peerKey is the request-context key under which ConnContext stores the Peer.
type peerKey struct{}

// ConnContext is an http.Server ConnContext that records the caller's Peer for the handlers.
// When the peer cannot be identified nothing is stored, so PeerFrom reports false and handlers
// refuse the request: an unidentified caller is never treated as anyone in particular.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if ic, ok := c.(IdentifiedConn); ok {
		return context.WithValue(ctx, peerKey{}, ic.Peer())
	}
	p, err := PeerOf(c)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFrom returns the Peer that ConnContext stored in a request's context.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}
