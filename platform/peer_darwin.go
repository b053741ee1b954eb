package platform

import (
	"fmt"
	"net"
	"slices"

	"golang.org/x/sys/unix"
)

// darwinAdminGID is the gid of macOS's "admin" group, the users that System Settings lists as
// administrators; it is fixed across macOS releases.
const darwinAdminGID = 80

// PeerOf identifies the process on the other end of a unix socket connection with
// LOCAL_PEERCRED (uid and groups) and LOCAL_PEERPID, as the kernel recorded them at connect(2).
//
// Admin is uid 0 or membership of the admin group: on macOS that group is what makes a user an
// administrator of the Mac. The kernel reports at most 16 groups (the first being the effective
// gid); admin users have admin among them, as it is set at login.
func PeerOf(c net.Conn) (Peer, error) {
	rc, err := peerRawConn(c)
	if err != nil {
		return Peer{}, err
	}
	var (
		cred    *unix.Xucred
		pid     int
		credErr error
	)
	if err := rc.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if credErr != nil {
			return
		}
		pid, credErr = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	}); err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("identifying the peer: %w", credErr)
	}
	n := min(max(int(cred.Ngroups), 0), len(cred.Groups))
	groups := cred.Groups[:n]
	gid := -1
	if n > 0 {
		gid = int(groups[0])
	}
	uid := int(cred.Uid)
	return Peer{
		UID:   uid,
		GID:   gid,
		PID:   pid,
		User:  peerUserName(uid),
		Admin: uid == 0 || slices.Contains(groups, darwinAdminGID),
	}, nil
}
