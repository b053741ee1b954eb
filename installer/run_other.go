//go:build !windows

package installer

import "context"

// runService: systemd and launchd stop a service with SIGTERM, which ends ctx.
func runService(ctx context.Context, opts RunOptions) error {
	return supervise(ctx, newProgram(opts))
}
