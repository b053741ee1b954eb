package platform

// DefaultPaths returns the system-wide (not per-user) Library locations that a launchd daemon
// uses; the socket sits directly in /var/run, which exists on every Mac.
func DefaultPaths() Paths {
	const dir = "/Library/Application Support/tollgate"
	return Paths{
		ConfigFile: dir + "/tollgate.yaml",
		ConfigDir:  dir,
		StateDir:   dir + "/state",
		LogDir:     "/Library/Logs/tollgate",
		Socket:     "/var/run/tollgate.sock",
	}
}
