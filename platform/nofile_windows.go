package platform

// RaiseNoFile reports the handles a process may hold: Windows has no per-process
// descriptor limit below its 16 million handles, so the local API's caps are its own.
func RaiseNoFile() (uint64, error) { return 1 << 24, nil }
