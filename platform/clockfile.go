package platform

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"tollgate/clock"
)

// FileClock reads the time from a file that only an administrator can write, so that
// tests can play a day in seconds through the real binaries. The file holds a wall time
// in RFC 3339 and, optionally, a monotonic reading as a duration
// ("2026-11-02T08:05:00Z 5m"); without it the monotonic clock follows the wall clock.
// Nothing reads a clock a user could set: the file must pass adminOnly, and only the
// commands an administrator starts (`tollgate run`, `tollgate ledger serve`) take it.
// It is a clock.Clock whose timers are the machine's: a test moves the time, and waits
// a poll interval for the agent to look.
type FileClock struct {
	clock.RealTimers
	path string
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

var fileClockEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// NewFileClock checks the file and returns a clock that reads it.
func NewFileClock(path string) (*FileClock, error) {
	c := &FileClock{path: path}
	if err := c.read(); err != nil {
		return nil, err
	}
	return c, nil
}

// Read returns the file's time; a file that cannot be read keeps the last good time.
func (c *FileClock) Read() (time.Time, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read()
	return c.wall, c.mono
}

// Now is Read's wall time.
func (c *FileClock) Now() time.Time {
	w, _ := c.Read()
	return w
}

func (c *FileClock) read() error {
	if err := adminOnly(c.path); err != nil {
		return err
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return err
	}
	f := strings.Fields(string(data))
	if len(f) == 0 || len(f) > 2 {
		return fmt.Errorf("clock file %s: want a time and optionally a duration, got %q", c.path, data)
	}
	wall, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil {
		return fmt.Errorf("clock file %s: %w", c.path, err)
	}
	mono := wall.Sub(fileClockEpoch)
	if len(f) == 2 {
		if mono, err = time.ParseDuration(f[1]); err != nil {
			return fmt.Errorf("clock file %s: %w", c.path, err)
		}
	}
	c.wall, c.mono = wall.UTC(), mono
	return nil
}
