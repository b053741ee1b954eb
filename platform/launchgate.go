package platform

// GateChange is what a sync of Windows's launch gate entries did (see launchgate_windows.go).
type GateChange struct {
	Set, Removed []string // exe names
	// Foreign lists exe names whose Debugger someone else set: left alone, and not gated.
	Foreign []string
}
