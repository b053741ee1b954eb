package platform

// DefaultPaths returns the Filesystem Hierarchy Standard locations. /run is emptied at every
// boot, so the agent creates the socket's directory each time it starts.
func DefaultPaths() Paths {
	return Paths{
		ConfigFile: "/etc/tollgate/tollgate.yaml",
		ConfigDir:  "/etc/tollgate",
		StateDir:   "/var/lib/tollgate",
		LogDir:     "/var/log/tollgate",
		Socket:     "/run/tollgate/tollgate.sock",
	}
}
