package platform

import "errors"

// adminOnly: the test clock is for the Unix test machines; on Windows it is refused
// rather than trusted without an ACL check.
func adminOnly(string) error {
	return errors.New("the test clock is not available on Windows")
}
