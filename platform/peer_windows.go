package platform

import (
	"fmt"
	"net"

	"golang.org/x/sys/windows"
)

// PeerOf identifies the process on the other end of a named pipe connection from Listen: the
// pipe reports the client's process id, and that process's token gives the account.
//
// Admin means the token has BUILTIN\Administrators enabled: an elevated administrator, or
// SYSTEM. An administrator's unelevated (UAC-filtered) token holds that group for deny only
// and is not Admin, just as sudo membership is not root on Linux.
func PeerOf(c net.Conn) (Peer, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return Peer{}, fmt.Errorf("identifying the peer: want a named pipe connection, got %T", c)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: GetNamedPipeClientProcessId: %w", err)
	}
	proc, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: opening process %d: %w", pid, err)
	}
	defer windows.CloseHandle(proc)
	var tok windows.Token
	if err := windows.OpenProcessToken(proc, windows.TOKEN_QUERY, &tok); err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: opening process %d's token: %w", pid, err)
	}
	defer tok.Close()

	tu, err := tok.GetTokenUser()
	if err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: reading process %d's user: %w", pid, err)
	}
	sid := tu.User.Sid
	admin, err := peerTokenIsAdmin(tok)
	if err != nil {
		return Peer{}, fmt.Errorf("identifying the peer: reading process %d's groups: %w", pid, err)
	}
	p := Peer{UID: -1, GID: -1, PID: int(pid), Admin: admin, SID: sid.String()}
	// An account that no longer resolves (deleted, or a domain out of reach) keeps its SID.
	if account, domain, _, err := sid.LookupAccount(""); err == nil {
		p.User = account
		if domain != "" {
			p.User = domain + `\` + account
		}
	}
	return p, nil
}

// peerTokenIsAdmin reports whether tok has BUILTIN\Administrators enabled. It reads the token's
// groups rather than calling CheckTokenMembership (Token.IsMember), which needs an impersonation
// token where OpenProcessToken gives a primary one.
func peerTokenIsAdmin(tok windows.Token) (bool, error) {
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return false, err
	}
	groups, err := tok.GetTokenGroups()
	if err != nil {
		return false, err
	}
	for _, g := range groups.AllGroups() {
		if !g.Sid.Equals(admins) {
			continue
		}
		return g.Attributes&windows.SE_GROUP_ENABLED != 0 && g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0, nil
	}
	return false, nil
}
