package installer

import (
	"fmt"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/windows/svc/eventlog"
)

// SystemLog returns a zap core that writes warnings and errors to the service's log: on
// Windows the Application event log under the source that install registers as name. Tee it
// with the agent's own logger (zapcore.NewTee) so that IT sees problems where Windows tools
// look. close releases it.
func SystemLog(name string) (core zapcore.Core, close func() error, err error) {
	l, err := eventlog.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the event log source %s: %w", name, err)
	}
	return newEventCore(l), l.Close, nil
}
