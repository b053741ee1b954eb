package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// registrationName is the file, in the user's config folder's tollgate folder, in which
// `tollgate up` writes the local API it serves, so that clients started without --socket
// find an agent that is not the system service.
const registrationName = "agent-socket"

func registrationFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config folder for this user: %w", err)
	}
	return filepath.Join(dir, "tollgate", registrationName), nil
}

// Register records socket as this user's agent for clients that are given no --socket. The
// returned func removes the record, unless another agent has registered since.
func Register(socket string) (unregister func(), err error) {
	path, err := registrationFile()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(socket+"\n"), 0o600); err != nil {
		return nil, err
	}
	return func() {
		if got, _ := Registered(); got == socket {
			os.Remove(path)
		}
	}, nil
}

// Registered returns the socket this user's `tollgate up` serves, or "" when none is
// registered.
func Registered() (string, error) {
	path, err := registrationFile()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
