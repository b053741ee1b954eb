//go:build linux

package platform

import (
	"context"
	"testing"
	"time"
)

// TestRunDeliversAnEmptyFirstDiff: an agent restarted with processes in its journal learns
// from the first diff which of them are gone, so that diff comes even when no product runs.
func TestRunDeliversAnEmptyFirstDiff(t *testing.T) {
	for _, pollOnly := range []bool{true, false} {
		src := NewSource(SourceOptions{PollOnly: pollOnly, Filter: func(string) bool { return false }})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got := make(chan Diff, 1)
		done := make(chan error, 1)
		go func() {
			done <- src.Run(ctx, 20*time.Millisecond, func(d Diff) {
				select {
				case got <- d:
				default:
				}
				cancel()
			})
		}()
		select {
		case d := <-got:
			if !d.Empty() {
				t.Errorf("poll only %v: got first diff %+v, want an empty one (no process passes the filter)", pollOnly, d)
			}
		case <-ctx.Done():
			t.Errorf("poll only %v: got no first diff within 10s, want an empty one", pollOnly)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("poll only %v: Run: %v", pollOnly, err)
		}
	}
}
