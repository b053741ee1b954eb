//go:build !linux && !darwin && !windows

package installer

import (
	"fmt"
	"runtime"
)

func newSystemManager(*Plan) (manager, error) {
	return nil, fmt.Errorf("tollgate does not install as a service on %s", runtime.GOOS)
}
