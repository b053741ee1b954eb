package config

import (
	"fmt"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"
)

// NewLogger builds the process's root logger from a Log section: JSON lines to a file
// rotated by size (what log shippers read), or human-readable lines to standard error
// when no file is set. The returned level starts at l.Level and can be changed while the
// logger is in use, e.g. by WatchOptions.Level when a push changes log.level. A file
// stays open for the life of the process.
func NewLogger(l Log) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, ok := levelOf(l.Level)
	if !ok && l.Level != "" {
		return nil, zap.AtomicLevel{}, fmt.Errorf("log level %q: use debug, info, warn or error", l.Level)
	}
	level := zap.NewAtomicLevelAt(lvl)
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	stderr := zapcore.Lock(os.Stderr)
	if l.File == "" {
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), stderr, level)
		return zap.New(core, zap.ErrorOutput(stderr)), level, nil
	}
	defaults := Defaults().Log
	if l.MaxSizeMB <= 0 {
		l.MaxSizeMB = defaults.MaxSizeMB
	}
	if l.MaxBackups < 0 {
		l.MaxBackups = defaults.MaxBackups
	}
	out := &lumberjack.Logger{
		Filename:   l.File,
		MaxSize:    l.MaxSizeMB,
		MaxBackups: l.MaxBackups,
		Compress:   true,
	}
	// lumberjack opens the file on the first write; open it now so that a bad path is an
	// error here rather than lost log lines later.
	if _, err := out.Write(nil); err != nil {
		return nil, zap.AtomicLevel{}, fmt.Errorf("log file %s: %w", l.File, err)
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(out), level)
	return zap.New(core, zap.ErrorOutput(stderr)), level, nil
}
