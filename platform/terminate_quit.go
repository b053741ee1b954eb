package platform

import "strconv"

// appQuitCommand builds the command that a root agent runs to ask the app with bundleID,
// running in the GUI session of uid, to quit as its Quit menu item does: the app may ask to
// save. launchctl asuser puts osascript in that user's session and sudo makes it that user,
// since Apple events reach only the apps of the sender's session and macOS asks for, and
// remembers, the Automation permission per user. "is running" keeps a quit from launching an
// app that has already gone.
func appQuitCommand(uid int, bundleID string) (string, []string) {
	id := appleScriptString(bundleID)
	script := "if application id " + id + " is running then tell application id " + id + " to quit"
	u := strconv.Itoa(uid)
	return "/bin/launchctl", []string{"asuser", u, "/usr/bin/sudo", "-n", "-u", "#" + u, "/usr/bin/osascript", "-e", script}
}
