package installer

import (
	"bufio"
	"strconv"
	"strings"
)

// What the macOS manager reads from launchctl and which launchctl commands it runs, apart
// from running them, so that both are tested on any OS against launchctl's printed output.
//
// launchctl list's "PID" line tells only whether a job runs at this moment; a KeepAlive job
// between respawns (the normal state of a default install before a ledger is pushed) has
// none, yet launchd will start it again. So the manager asks `launchctl print
// system/<label>`, which answers for any job launchd has loaded, running or not, and fails
// for one it has not.

// launchdLoaded is a job as `launchctl print system/<label>` shows it.
type launchdLoaded struct {
	loaded bool   // launchd has the job: it runs, or will run it again (KeepAlive)
	state  string // "running", "spawn scheduled", "not running", ...
	pid    int
	// lastExit is launchd's "last exit code" line, such as "78: EX_CONFIG".
	lastExit string
}

// parseLaunchctlPrint reads `launchctl print system/<label>`'s output; exited says whether it
// exited 0, as it does only for a loaded job ("Could not find service" otherwise).
func parseLaunchctlPrint(out string, exited0 bool) launchdLoaded {
	if !exited0 {
		return launchdLoaded{}
	}
	j := launchdLoaded{loaded: true}
	depth := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, "{") {
			depth++
			continue
		}
		if line == "}" {
			depth--
			continue
		}
		if depth != 1 { // the job's own lines, not those of its nested dictionaries
			continue
		}
		key, value, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		switch key {
		case "state":
			j.state = value
		case "pid":
			j.pid, _ = strconv.Atoi(value)
		case "last exit code":
			j.lastExit = value
		}
	}
	return j
}

// running reports whether the job's process runs now.
func (j launchdLoaded) running() bool { return j.state == "running" || j.pid > 0 }

// launchdDisabled reads `launchctl print-disabled system` for label: macOS has written the
// value as "disabled"/"enabled" and, before, as "true"/"false".
func launchdDisabled(out, label string) bool {
	prefix := strconv.Quote(label) + " => "
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), prefix); ok {
			return v == "disabled" || v == "true"
		}
	}
	return false
}

// launchdStartCommands are the launchctl commands that make label run from plist, given the
// job as launchd has it. It is enabled first, always: a job an admin disabled, or that
// "Allow in the Background" turned off, is refused by bootstrap and never comes back.
func launchdStartCommands(label, plist string, j launchdLoaded) [][]string {
	target := "system/" + label
	cmds := [][]string{{"enable", target}}
	switch {
	case !j.loaded:
		cmds = append(cmds, []string{"bootstrap", "system", plist})
	case !j.running():
		// Loaded and between respawns: start it now rather than after launchd's throttle.
		cmds = append(cmds, []string{"kickstart", target})
	}
	return cmds
}

// launchdStopCommands are the launchctl commands that stop label and keep it stopped: a
// KeepAlive job comes back unless launchd unloads it, running or not.
func launchdStopCommands(label string, j launchdLoaded) [][]string {
	if !j.loaded {
		return nil
	}
	return [][]string{{"bootout", "system/" + label}}
}
