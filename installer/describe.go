package installer

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Describe writes what an install with p would create and register, file contents
// included, for --dry-run.
func (p *Plan) Describe(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tollgate install for %s (tollgate %s)\n\n", p.OS, p.Version)
	fmt.Fprintf(&b, "service %s, run as %s, starting at boot:\n  %s\n\n", p.Service.Name, p.account(), p.CommandLine())

	b.WriteString("folders:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, d := range p.Dirs {
		access := "(exists already; left as it is)"
		switch {
		case !d.Own:
		case p.OS == "windows" && d.SDDL != "":
			access = "owner Administrators, access " + d.SDDL
		case p.OS == "windows":
			access = "inherits its parent's access list"
		default:
			access = fmt.Sprintf("%04o root:%s", d.Mode.Perm(), p.rootGroup())
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Path, access, d.Purpose)
	}
	tw.Flush()

	b.WriteString("\nfiles:\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, f := range p.Files {
		owner := fmt.Sprintf("%04o root:%s", f.Mode.Perm(), p.rootGroup())
		if p.OS == "windows" {
			owner = "inherits its folder's access list"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Path, owner, f.Purpose)
	}
	tw.Flush()

	b.WriteString("\nthen:\n")
	for _, s := range p.steps() {
		fmt.Fprintf(&b, "  %s\n", s)
	}

	if p.Windows != nil && p.Root == "" {
		data, err := p.Windows.JSON()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n--- service settings\n%s", data)
	}
	for _, f := range p.Files {
		if f.From != "" {
			fmt.Fprintf(&b, "\n--- %s: a copy of %s (%d bytes)\n", f.Path, f.From, len(f.Data))
			continue
		}
		fmt.Fprintf(&b, "\n--- %s\n%s", f.Path, f.Data)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *Plan) account() string {
	if p.OS == "windows" {
		return "LocalSystem"
	}
	return "root"
}

func (p *Plan) rootGroup() string {
	if p.OS == "darwin" {
		return "wheel"
	}
	return "root"
}

// steps says what install asks of the service manager once the files are in place.
func (p *Plan) steps() []string {
	if p.Root != "" {
		return []string{
			"no service manager is called (--root); the service would run:",
			"  " + p.CommandLine(),
		}
	}
	switch p.OS {
	case "linux":
		unit := ServiceName + ".service"
		return []string{
			"systemctl enable " + unit + " && systemctl daemon-reload (an upgrade disables and removes the old unit first)",
			"systemctl start " + unit,
			"the notifier starts at each user's next desktop login",
		}
	case "darwin":
		return []string{
			"launchctl enable system/" + DarwinAgentLabel + " && launchctl bootstrap system " + p.Service.File + " (an upgrade runs launchctl bootout system/" + DarwinAgentLabel + " first)",
			"launchctl bootstrap gui/<console user> for the notifier; other users get it at their next login",
		}
	}
	return []string{
		`create the service (an upgrade changes its command line), set its recovery actions, pre-shutdown time-out and error control`,
		`register the "` + ServiceName + `" event log source`,
		`set the notifier's Run value; it starts at each user's next logon`,
		"start the service",
	}
}
