//go:build !windows

package up

import "path/filepath"

// localAPI is the agent's socket, in the data folder.
func localAPI(data string) string { return filepath.Join(data, "tollgate.sock") }
