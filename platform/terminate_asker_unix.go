//go:build darwin || linux

package platform

import (
	"bytes"
	"fmt"
	"os/exec"
)

// termRunAsker starts cmd, a program that asks a process to close, and reports its outcome as
// a termAsker does: nil when it succeeded, its error and output when it failed.
func termRunAsker(cmd *exec.Cmd) (<-chan error, func(), error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		if err := cmd.Wait(); err != nil {
			done <- fmt.Errorf("%s: %w: %s", cmd.Path, err, bytes.TrimSpace(out.Bytes()))
			return
		}
		done <- nil
	}()
	stop := func() {
		cmd.Process.Kill()
		<-waited
	}
	return done, stop, nil
}
