package platform

import (
	"context"
	"time"
)

// terminate signals by pid: macOS has no pidfd, so each signal follows a fresh look at the
// create time.
func terminate(ctx context.Context, key ProcKey, grace time.Duration) (Ending, error) {
	return termBySignal(ctx, key, grace)
}
