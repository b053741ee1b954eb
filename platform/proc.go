package platform

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcKey names one process for its whole life and no longer: operating
// systems hand a freed pid to later processes, and those have a later create
// time, so a key never matches a process that merely reuses the pid.
type ProcKey struct {
	PID     int32
	Created int64 // create time, Unix milliseconds
}

func (k ProcKey) String() string {
	return strconv.FormatInt(int64(k.PID), 10) + "@" + strconv.FormatInt(k.Created, 10)
}

// ParseProcKey reads what ProcKey.String wrote: pid@created.
func ParseProcKey(s string) (ProcKey, error) {
	pid, created, ok := strings.Cut(s, "@")
	p, err1 := strconv.ParseInt(pid, 10, 32)
	c, err2 := strconv.ParseInt(created, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return ProcKey{}, fmt.Errorf("process id %q is not pid@created", s)
	}
	return ProcKey{PID: int32(p), Created: c}, nil
}

// Process is what the source reports about a process when it starts.
type Process struct {
	Key ProcKey
	// Exe is the absolute path of the executable, or "" when the OS does
	// not let this process read it (kernel threads, protected processes).
	Exe string
	// Name is the OS's name for the process: the image file name on Windows
	// ("acad.exe"), elsewhere the kernel's command name, which the kernel
	// cuts to 15 (Linux) or 16 (macOS) bytes; a cut name is completed from
	// the file name of the first argument or the executable when they
	// start with it.
	Name string
	Args []string
	// User is the OS account name running the process; "" when the account
	// has no name.
	User string
	// Domain is the Windows domain (or computer name) of User; "" elsewhere.
	Domain string
	// UID is the real user id on Unix; -1 on Windows, which has SIDs instead, and when
	// unknown.
	UID int
}

// Diff is what changed between two looks at the process table. Apply Exited
// before Started: a reused pid, or a program run by exec in place of the one
// that had the pid, shows up in both.
type Diff struct {
	Started []Process
	Exited  []ProcKey
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool { return len(d.Started) == 0 && len(d.Exited) == 0 }

// procFullName completes a name the kernel cut to limit bytes from the file name of the first
// argument or of the executable, when one of them starts with it.
func procFullName(name string, limit int, args []string, exe string) string {
	if len(name) < limit {
		return name
	}
	var arg0 string
	if len(args) > 0 {
		arg0 = args[0]
	}
	for _, path := range []string{arg0, exe} {
		if base := filepath.Base(path); path != "" && strings.HasPrefix(base, name) {
			return base
		}
	}
	return name
}
