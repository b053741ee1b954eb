package config

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"tollgate/platform/macapp"
)

// matcher is a product's Match, prepared once per load rather than once per process.
type matcher struct {
	exe, exeFold   []string
	path, pathFold []string // '/'-separated; Fold lowercased, for Windows
	bundle         []string
	args           *regexp.Regexp
	bad            bool // a rule did not compile: match nothing rather than too much
}

func compile(m Match) *matcher {
	c := &matcher{exe: m.Exe, bundle: m.Bundle}
	for _, e := range m.Exe {
		c.exeFold = append(c.exeFold, strings.ToLower(e))
	}
	for _, g := range m.Path {
		g = strings.ReplaceAll(g, `\`, "/")
		c.path = append(c.path, g)
		c.pathFold = append(c.pathFold, strings.ToLower(g))
	}
	if m.Args != "" {
		re, err := regexp.Compile(m.Args)
		c.args, c.bad = re, err != nil
	}
	return c
}

// Matches reports whether a process belongs to p. exe is the executable's full path as
// the OS reports it, args the arguments without the program itself, and goos the OS the
// process runs on (runtime.GOOS in the agent): on "windows", '\' separates folders and
// names and paths compare case-insensitively, as NTFS does.
func (p Product) Matches(exe string, args []string, goos string) bool {
	proc := newProcess(exe, args, goos)
	return p.matcher().matches(&proc)
}

func (p Product) matcher() *matcher {
	if p.m == nil { // a Product built in code rather than loaded
		return compile(p.Match)
	}
	return p.m
}

// process is a process's exe and args prepared once for matching a whole catalogue.
type process struct {
	full, base string
	args       string
	fold       bool
	exe        string // as the OS gave it, for reading its bundle
	bundle     string
	bundleRead bool
}

// bundleID reads the process's bundle identifier the first time a rule asks for it: once
// per new process, and only for those that pass the cheaper rules.
func (p *process) bundleID() string {
	if !p.bundleRead {
		p.bundle, p.bundleRead = macapp.BundleID(p.exe), true
	}
	return p.bundle
}

func newProcess(exe string, args []string, goos string) process {
	p := process{full: exe, exe: exe, args: strings.Join(args, " ")}
	if goos == "windows" {
		p.full, p.fold = strings.ToLower(windowsPath(exe)), true
	}
	p.base = path.Base(p.full)
	return p
}

func (m *matcher) matches(p *process) bool {
	if m.bad || p.full == "" || len(m.exe) == 0 && len(m.path) == 0 && len(m.bundle) == 0 {
		return false
	}
	exes, globs := m.exe, m.path
	if p.fold {
		exes, globs = m.exeFold, m.pathFold
	}
	if len(exes) > 0 && !slices.Contains(exes, p.base) {
		return false
	}
	if m.args != nil && !m.args.MatchString(p.args) {
		return false
	}
	if len(globs) == 0 && len(m.bundle) == 0 {
		return true
	}
	if slices.ContainsFunc(globs, func(g string) bool {
		ok, _ := path.Match(g, p.full)
		return ok
	}) {
		return true
	}
	if len(m.bundle) == 0 {
		return false
	}
	id := p.bundleID()
	return id != "" && slices.ContainsFunc(m.bundle, func(b string) bool { return strings.EqualFold(b, id) })
}

// windowsPath turns a Win32 path into the '/'-separated form that rules are written in,
// dropping the \\?\ prefix of long paths.
func windowsPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if rest, ok := strings.CutPrefix(p, "//?/UNC/"); ok {
		return "//" + rest
	}
	if rest, ok := strings.CutPrefix(p, "//?/"); ok {
		return rest
	}
	return p
}
