package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// gateRules says which executables are products. It is immutable once built, so the event
// reader uses it without a lock while SetPaths swaps in a new one.
type gateRules struct {
	literal map[string]bool // resolved files and directories
	globs   []string        // resolved patterns
}

// match reports whether exe, or a directory above it, is a product path.
func (r *gateRules) match(exe string) bool {
	if !strings.HasPrefix(exe, "/") {
		return false // "anon_inode:...", or a path the kernel could not name
	}
	for p := exe; ; p = filepath.Dir(p) {
		if r.literal[p] {
			return true
		}
		for _, g := range r.globs {
			if ok, _ := filepath.Match(g, p); ok {
				return true
			}
		}
		if p == "/" {
			return false
		}
	}
}

// gateTarget is one configured path, resolved.
type gateTarget struct {
	pattern string // what the kernel will report: symlinks in the existing part resolved
	glob    bool
	// markPath is what to mark: the directory holding an existing file, or else a path on the
	// mount to watch (the nearest existing ancestor of the pattern's literal part).
	markPath  string
	markMount bool
}

// gateResolve turns a configured path into what the gate matches and marks. Paths that do not
// exist yet (a product not installed) are watched through the mount of their nearest existing
// ancestor, so an install after the last reload is gated too.
func gateResolve(p string) (gateTarget, error) {
	if !filepath.IsAbs(p) {
		return gateTarget{}, fmt.Errorf("gate path %q is not absolute", p)
	}
	p = filepath.Clean(p)
	lit, globRest := gateSplitGlob(p)
	if globRest != "" {
		if _, err := filepath.Match(p, ""); err != nil {
			return gateTarget{}, fmt.Errorf("gate path %q: %w", p, err)
		}
	}
	existing, missing := lit, ""
	var real string
	for {
		r, err := filepath.EvalSymlinks(existing)
		if err == nil {
			real = r
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || existing == "/" {
			return gateTarget{}, fmt.Errorf("gate path %q: %w", p, err)
		}
		missing = filepath.Join(filepath.Base(existing), missing)
		existing = filepath.Dir(existing)
	}
	t := gateTarget{
		pattern:   filepath.Join(real, missing, globRest),
		glob:      globRest != "",
		markPath:  real,
		markMount: true,
	}
	if t.glob || missing != "" {
		return t, nil
	}
	fi, err := os.Stat(real)
	if err != nil {
		return gateTarget{}, fmt.Errorf("gate path %q: %w", p, err)
	}
	if !fi.IsDir() {
		// The file's directory rather than the file: an upgrade that replaces the binary
		// (a new inode renamed into place) stays gated, and only its siblings' execs are seen.
		t.markPath, t.markMount = filepath.Dir(real), false
	}
	return t, nil
}

// gateSplitGlob splits p before its first component holding a glob metacharacter.
func gateSplitGlob(p string) (literal, rest string) {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.ContainsAny(part, `*?[\`) {
			return "/" + filepath.Join(parts[:i]...), filepath.Join(parts[i:]...)
		}
	}
	return p, ""
}

// gateRulesFor resolves paths into rules and the targets that deliver their execs.
func gateRulesFor(paths []string) (*gateRules, []gateTarget, error) {
	r := &gateRules{literal: make(map[string]bool)}
	var targets []gateTarget
	var errs []error
	for _, p := range paths {
		t, err := gateResolve(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if t.glob {
			r.globs = append(r.globs, t.pattern)
		} else {
			r.literal[t.pattern] = true
		}
		targets = append(targets, t)
	}
	return r, targets, errors.Join(errs...)
}
