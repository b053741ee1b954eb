//go:build unix

package platform

import (
	"fmt"
	"net"
	"os/user"
	"strconv"
	"syscall"
)

// peerRawConn returns the socket under c, which must be a unix socket connection.
func peerRawConn(c net.Conn) (syscall.RawConn, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("identifying the peer: want a unix socket connection, got %T", c)
	}
	return uc.SyscallConn()
}

// accountName returns the name of uid's account, or "" if it has none: a uid without a name is
// still a real, distinct caller, and Peer.User documents the empty name. It is the one
// uid-to-name lookup on Unix: local API callers, process owners (ProcOwner) and the process
// readers (procUsers, which keeps its answers) all name accounts with it.
func accountName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}
