package platform

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
)

// Paths are where the agent keeps its files and serves its local API on this OS.
type Paths struct {
	// ConfigFile is the main config file; ConfigDir holds it and the drop-ins IT pushes.
	ConfigFile string
	ConfigDir  string
	// StateDir holds the journal and cached entitlements.
	StateDir string
	LogDir   string
	// Socket is the local API's unix socket, or its named pipe (\\.\pipe\...) on Windows.
	Socket string
}

// pipePrefix starts every Windows named pipe path.
const pipePrefix = `\\.\pipe\`

// Under returns p with every path moved beneath root, for installs into a prefix and for tests.
// A drive letter is dropped (C:\ProgramData\x becomes root\ProgramData\x). A named pipe has no
// directory to move into, so it gets a name derived from root instead: the same root always
// gives the same pipe, and different roots do not collide.
func (p Paths) Under(root string) Paths {
	return Paths{
		ConfigFile: underRoot(root, p.ConfigFile),
		ConfigDir:  underRoot(root, p.ConfigDir),
		StateDir:   underRoot(root, p.StateDir),
		LogDir:     underRoot(root, p.LogDir),
		Socket:     underRoot(root, p.Socket),
	}
}

func underRoot(root, path string) string {
	switch {
	case path == "":
		return ""
	case strings.HasPrefix(path, pipePrefix):
		h := fnv.New64a()
		h.Write([]byte(root))
		return fmt.Sprintf("%s-%016x", path, h.Sum64())
	default:
		return filepath.Join(root, strings.TrimPrefix(path, filepath.VolumeName(path)))
	}
}
