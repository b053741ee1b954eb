//go:build !windows

package installer

import "go.uber.org/zap/zapcore"

// SystemLog returns a core that writes nothing: systemd's journal and launchd's
// StandardErrorPath already keep what the agent writes to standard error.
func SystemLog(name string) (core zapcore.Core, close func() error, err error) {
	return zapcore.NewNopCore(), func() error { return nil }, nil
}
