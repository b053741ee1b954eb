//go:build unix

package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSocketPath is the longest path that bind(2) takes on every unix we build for (Darwin needs
// room for the terminating NUL); checking it up front turns the kernel's bare EINVAL into advice.
const maxSocketPath = len(unix.RawSockaddrUnix{}.Path) - 1

// Listen opens the local API's unix socket at path. The parent directory must exist.
//
// A socket file left by an agent that died is replaced, but only after nothing answers on it: a
// live agent is never unlinked from under its clients. Two agents starting in the same instant
// can still both see the file as stale; the service manager starts one agent, so that race is
// accepted rather than guarded with a lock file.
//
// The socket is made 0666: every local user may connect to ask about their own launches, and
// the handlers authorise each request by the caller's identity from PeerOf, not by file mode.
func Listen(path string) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is %d bytes; this OS allows at most %d: choose a shorter path", path, len(path), maxSocketPath)
	}
	ln, err := net.Listen("unix", path)
	if errors.Is(err, syscall.EADDRINUSE) {
		if err := removeStaleSocket(path); err != nil {
			return nil, err
		}
		ln, err = net.Listen("unix", path)
	}
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("opening socket %s to local users: %w", path, err)
	}
	return ln, nil
}

// removeStaleSocket unlinks the socket file at path if it is a socket that nobody serves.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("inspecting %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%s): move it away or choose another socket path", path, fi.Mode().Type())
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w on %s", ErrAlreadyListening, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("checking whether %s is still served: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

// Dial connects to the local API on the unix socket at path.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("connecting to the tollgate agent at %s (is the tollgate service running?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to the tollgate agent at %s: %w", path, err)
	}
	return c, nil
}
