package up

import (
	"fmt"
	"strings"
)

// hints is what up prints after its summary: a note on what it enforces, and the commands to
// try, each pasteable into the shell a user of goos has (sh on Linux and macOS, cmd.exe on
// Windows, which takes neither single quotes nor a VAR=value prefix).
func hints(goos string, root bool, cli, url, admin, team, config string) string {
	var b strings.Builder
	switch {
	case goos == "windows":
		// No root on Windows: up meters as the agent does; only the service's launch gate
		// (install --launch-gate) stops a product before it runs.
		b.WriteString("  note          a denied product is closed right after it starts; the launch gate of the\n                installed service (tollgate install --launch-gate) stops it before it runs\n")
	case !root:
		b.WriteString("  note          not run as root: only your own programs are metered, and a denied\n                product is closed right after it starts (root gates it before it runs)\n")
	default:
		fmt.Fprintf(&b, "  note          the sample products are matched by name, so a denied one is closed right\n                after it starts; add match.path in %s to stop it before it runs\n", config)
	}
	q := pasteable(cli, goos)
	report := fmt.Sprintf("TOLLGATE_LEDGER_URL=%s TOLLGATE_ADMIN_TOKEN=%s %s ledger report tokens --team %s", url, admin, q, team)
	if goos == "windows" {
		report = fmt.Sprintf("%s ledger report tokens --team %s --url %s --token %s", q, team, url, admin)
	}
	fmt.Fprintf(&b, "Try, in another terminal:\n  %s status\n  %s check revit\n  %s\n", q, q, report)
	return b.String()
}

// pasteable quotes a program's path for goos's shell. A Windows path holds no double quote,
// and cmd.exe splits only at spaces and its few operators.
func pasteable(path, goos string) string {
	if goos != "windows" {
		return shellQuote(path)
	}
	if !strings.ContainsAny(path, " &()^%!,;=") {
		return path
	}
	return `"` + path + `"`
}
