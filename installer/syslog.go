package installer

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// eventWriter is the Windows event log as the log core uses it.
type eventWriter interface {
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// Event ids in the Application log; the source is registered with the EventCreate message
// file, which shows the text as it is.
const (
	eventWarning = 2
	eventError   = 3
)

// eventCore is a zap core that writes warnings and errors as event log entries, one line of
// text each with the fields, since the event log keeps its own time and level.
type eventCore struct {
	zapcore.LevelEnabler
	enc zapcore.Encoder
	out eventWriter
}

func newEventCore(out eventWriter) *eventCore {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey, cfg.LevelKey, cfg.CallerKey, cfg.StacktraceKey = "", "", "", ""
	return &eventCore{LevelEnabler: zapcore.WarnLevel, enc: zapcore.NewConsoleEncoder(cfg), out: out}
}

func (c *eventCore) With(fields []zapcore.Field) zapcore.Core {
	clone := &eventCore{LevelEnabler: c.LevelEnabler, enc: c.enc.Clone(), out: c.out}
	for _, f := range fields {
		f.AddTo(clone.enc)
	}
	return clone
}

func (c *eventCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *eventCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	buf, err := c.enc.EncodeEntry(e, fields)
	if err != nil {
		return err
	}
	defer buf.Free()
	msg := buf.String()
	if e.Level >= zapcore.ErrorLevel {
		return c.out.Error(eventError, msg)
	}
	return c.out.Warning(eventWarning, msg)
}

func (c *eventCore) Sync() error { return nil }
