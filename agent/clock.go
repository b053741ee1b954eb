package agent

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"tollgate/charge"
)

// Clock tells the agent the time, as the meter reads it. A nil Options.Clock means the
// system's clocks: the wall clock for windows, the monotonic clock (which stands still
// while the machine sleeps) for use.
type Clock interface {
	Reading() charge.Reading
}

type systemClock struct{ start time.Time }

func (c systemClock) Reading() charge.Reading {
	now := time.Now()
	return charge.Reading{Wall: now.Round(0), Mono: now.Sub(c.start)}
}

// FileClock reads the time from a file that only an administrator can write, for tests
// that play a day in seconds. The file holds a wall time in RFC 3339 and, optionally, a
// monotonic reading as a duration ("2026-11-02T08:05:00Z 5m"); without it the monotonic
// clock follows the wall clock. The agent never reads a clock a user could set: the file
// must be owned by root and writable by no one else, and only `tollgate run`, which an
// administrator starts, can be pointed at it.
type FileClock struct {
	path string
	mu   sync.Mutex
	last charge.Reading
	err  error
}

var monoEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// NewFileClock checks the file and returns a clock that reads it.
func NewFileClock(path string) (*FileClock, error) {
	c := &FileClock{path: path}
	if err := c.read(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reading returns the file's time; a file that cannot be read keeps the last good time.
func (c *FileClock) Reading() charge.Reading {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = c.read()
	return c.last
}

func (c *FileClock) read() error {
	if err := checkAdminOnly(c.path); err != nil {
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
	mono := wall.Sub(monoEpoch)
	if len(f) == 2 {
		if mono, err = time.ParseDuration(f[1]); err != nil {
			return fmt.Errorf("clock file %s: %w", c.path, err)
		}
	}
	c.last = charge.Reading{Wall: wall.UTC(), Mono: mono}
	return nil
}
