package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// PeerOf identifies the process on the other end of a unix socket connection with
// LOCAL_PEERCRED (uid and groups) and LOCAL_PEERPID, as the kernel recorded them at connect(2).
//
// Admin is uid 0 or membership of the admin group: on macOS that group is what makes a user an
// administrator of the Mac. The kernel reports at most 16 groups (the first being the effective
// gid); local admins have admin among them, as it is set at login, but on a Mac bound to a
// directory admin may come through a nested directory group that is not among them, so a caller
// without it is looked up in the directory (dseditgroup) before being refused, on a Mac bound
// to one. The lookup runs where http.Server calls ConnContext, in its accept loop, so it is
// bounded to a second.
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
	name := accountName(uid)
	var dir memberChecker // a Mac on no directory has admin in the credential or not at all
	if dsBound("/") {
		dir = dsDirectory{}
	}
	return Peer{
		UID:   uid,
		GID:   gid,
		PID:   pid,
		User:  name,
		Admin: peerIsAdmin(uid, name, groups, darwinAdminGID, "admin", dir),
	}, nil
}

// dsTimeout bounds a directory lookup: a Mac away from its directory server must not hold a
// caller for long, and is then refused admin rights it cannot prove.
const dsTimeout = time.Second

// dsDirectory asks opendirectoryd through dseditgroup, which resolves membership as the OS
// does for authorization: nested groups and directory groups included.
type dsDirectory struct{}

func (dsDirectory) IsMember(user, group string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dsTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/sbin/dseditgroup", "-o", "checkmember", "-m", user, group)
	out, err := cmd.Output()
	exit := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	case err != nil:
		return false, fmt.Errorf("dseditgroup: %w", err)
	}
	member, known := dseditgroupMember(string(out), exit)
	if !known {
		return false, fmt.Errorf("dseditgroup -o checkmember -m %s %s: exit %d: %s", user, group, exit, strings.TrimSpace(string(out)))
	}
	return member, nil
}
