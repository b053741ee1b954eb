package platform

import (
	"os"
	"path/filepath"
)

// DefaultPaths returns locations under %ProgramData%, the machine-wide data folder that a
// service running as LocalSystem and IT's deployment tools both reach.
func DefaultPaths() Paths {
	base := os.Getenv("ProgramData")
	if base == "" {
		// Services started in a stripped environment may lack it; this is its default value.
		base = `C:\ProgramData`
	}
	dir := filepath.Join(base, "tollgate")
	return Paths{
		ConfigFile: filepath.Join(dir, "tollgate.yaml"),
		ConfigDir:  dir,
		StateDir:   filepath.Join(dir, "state"),
		LogDir:     filepath.Join(dir, "logs"),
		Socket:     pipePrefix + "tollgate",
	}
}
