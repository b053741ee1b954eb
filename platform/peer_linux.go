package platform

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// PeerOf identifies the process on the other end of a unix socket connection with SO_PEERCRED,
// the credentials the kernel recorded when the peer called connect(2).
//
// Admin is uid 0 only. Membership of sudo or wheel means a user may become root after
// authenticating, not that this process holds root's rights; a caller that wants to act for
// other users runs its command through sudo.
func PeerOf(c net.Conn) (Peer, error) {
	rc, err := peerRawConn(c)
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := rc.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("identifying the peer: SO_PEERCRED: %w", credErr)
	}
	uid := int(cred.Uid)
	return Peer{
		UID:   uid,
		GID:   int(cred.Gid),
		PID:   int(cred.Pid),
		User:  accountName(uid),
		Admin: uid == 0,
	}, nil
}
