package agent

import "errors"

// checkAdminOnly: the test clock is for Unix test machines only; on Windows it is refused
// rather than trusted without an ACL check.
func checkAdminOnly(string) error {
	return errors.New("the test clock is not available on Windows")
}
