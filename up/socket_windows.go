package up

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// localAPI is the agent's named pipe: Windows has no socket files, and the installed service
// already owns \\.\pipe\tollgate, so each data folder gets a pipe of its own, named after it.
func localAPI(data string) string {
	abs, err := filepath.Abs(data)
	if err != nil {
		abs = data
	}
	sum := sha256.Sum256([]byte(strings.ToLower(abs)))
	return `\\.\pipe\tollgate-up-` + hex.EncodeToString(sum[:6])
}
