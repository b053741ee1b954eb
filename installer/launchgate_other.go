//go:build !windows

package installer

import (
	"errors"

	"tollgate/platform"
)

// setLaunchGate is refused before it is called (Install checks the OS); the launch gate is Windows's.
func setLaunchGate(*Plan) (platform.GateChange, error) {
	return platform.GateChange{}, errors.New("the launch gate is Windows's")
}
