package config

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
)

func TestNewLoggerFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "logs", "agent.log")
	log, level, err := NewLogger(Log{Level: "info", File: file, MaxSizeMB: 1, MaxBackups: 2})
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("log file not created up front: %v", err)
	}
	log = log.Named("test")
	log.Debug("hidden at info")
	log.Info("shown at info")
	level.SetLevel(zapcore.DebugLevel) // what a push of log.level: debug does
	log.Debug("shown at debug")
	if err := log.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var line struct {
			Level, Logger, Msg, TS string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if line.TS == "" || line.Logger != "test" {
			t.Errorf("log line %q: want a timestamp and logger \"test\"", sc.Text())
		}
		got = append(got, line.Level+" "+line.Msg)
	}
	if want := "info shown at info|debug shown at debug"; strings.Join(got, "|") != want {
		t.Errorf("log lines = %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestNewLoggerErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		l    Log
		want string
	}{
		{"unknown level", Log{Level: "loud"}, `log level "loud"`},
		{"file under a file", Log{Level: "info", File: filepath.Join(notDir, "agent.log")}, "log file " + notDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewLogger(tt.l)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewLogger(%+v) = %v, want an error holding %q", tt.l, err, tt.want)
			}
		})
	}
}

func TestNewLoggerStderr(t *testing.T) {
	log, level, err := NewLogger(Log{Level: "warn"})
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	if level.Level() != zapcore.WarnLevel || log.Core().Enabled(zapcore.InfoLevel) {
		t.Errorf("level = %v, info enabled = %v; want warn, false", level.Level(), log.Core().Enabled(zapcore.InfoLevel))
	}
}
