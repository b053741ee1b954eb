// Package macapp reads macOS app bundles: what the catalogue matches a Mac app by, and what
// a polite quit addresses. It reads files only, so it works (and is tested) on any OS.
package macapp

import (
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"
)

// bundleExeDir is where a macOS app bundle keeps its executables.
const bundleExeDir = ".app/Contents/MacOS/"

// BundleID returns the CFBundleIdentifier of the app bundle that holds exe, the innermost
// one when bundles nest (a helper app inside a product's bundle is its own app), or "" when
// exe lies in no bundle or its Info.plist (XML or binary) cannot be read.
func BundleID(exe string) string {
	exe = filepath.ToSlash(exe)
	i := strings.LastIndex(exe, bundleExeDir)
	if i < 0 {
		return ""
	}
	info := filepath.FromSlash(exe[:i+len(".app/Contents/")] + "Info.plist")
	f, err := os.Open(info)
	if err != nil {
		return ""
	}
	defer f.Close()
	var keys struct {
		ID string `plist:"CFBundleIdentifier"`
	}
	if err := plist.NewDecoder(f).Decode(&keys); err != nil {
		return ""
	}
	return keys.ID
}
