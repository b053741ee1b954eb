package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeSDDL is the pipe's security descriptor. Windows reads a DACL top down and stops once every
// requested right is granted, so the deny for network logons (NU) comes first or the AU allow
// would already have let such a caller in; go-winio also sets FILE_PIPE_REJECT_REMOTE_CLIENTS,
// this is the second lock. SYSTEM (SY) and Administrators (BA) get full control.
//
// Authenticated Users (AU) get 0x12019b = FILE_GENERIC_READ|FILE_GENERIC_WRITE without
// FILE_APPEND_DATA (0x4). On a pipe that bit is FILE_CREATE_PIPE_INSTANCE; plain GW would let any
// user create server instances of \\.\pipe\tollgate next to ours and answer our clients.
// Because GENERIC_WRITE maps to FILE_GENERIC_WRITE and so asks for that bit, Dial asks for
// pipeClientAccess instead.
//
// P (protected) keeps inheritable ACEs from the pipe namespace out.
const pipeSDDL = "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12019b;;;AU)"

// pipeClientAccess is what a client needs to talk over the pipe, and no more (see pipeSDDL).
const pipeClientAccess = windows.GENERIC_READ | windows.FILE_WRITE_DATA

// probeTimeout bounds the check for a live agent; go-winio retries busy pipes until its context ends.
const probeTimeout = 2 * time.Second

// Listen opens the local API's named pipe at path, e.g. \\.\pipe\tollgate.
//
// Only the agent's first instance sets the pipe's security (go-winio applies pipeSDDL to it), so
// a pipe that already exists is never reused: if an agent answers on it Listen reports
// ErrAlreadyListening, otherwise it returns the OS error.
func Listen(path string) (net.Listener, error) {
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: pipeSDDL})
	if err == nil {
		return ln, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if c, derr := winio.DialPipeAccess(ctx, path, pipeClientAccess); derr == nil {
		c.Close()
		return nil, fmt.Errorf("%w on %s", ErrAlreadyListening, path)
	}
	return nil, fmt.Errorf("listening on %s: %w", path, err)
}

// Dial connects to the local API on the named pipe at path.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	c, err := winio.DialPipeAccess(ctx, path, pipeClientAccess)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return nil, fmt.Errorf("connecting to the tollgate agent at %s (is the tollgate service running?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to the tollgate agent at %s: %w", path, err)
	}
	return c, nil
}
