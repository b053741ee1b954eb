package agent

import "errors"

// procOwner is not needed on Windows, which has no pre-exec gate.
func procOwner(int32) (string, error) { return "", errors.New("no pre-exec gate on Windows") }
