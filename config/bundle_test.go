package config

import (
	"os"
	"path/filepath"
	"testing"

	"howett.net/plist"

	"tollgate/platform/macapp"
)

// macApp lays out name.app under dir as macOS apps are laid out, with an Info.plist in
// format (XML or binary) naming id, and returns its executable's path.
func macApp(t *testing.T, dir, name, exe, id string, format int) string {
	t.Helper()
	contents := filepath.Join(dir, name+".app", "Contents")
	if err := os.MkdirAll(filepath.Join(contents, "MacOS"), 0o755); err != nil {
		t.Fatal(err)
	}
	info, err := plist.Marshal(map[string]any{
		"CFBundleIdentifier": id, "CFBundleExecutable": exe, "CFBundlePackageType": "APPL",
	}, format)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(contents, "Info.plist"), info, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(contents, "MacOS", exe)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBundleMatchesWhereMacAppsRun places AutoCAD where Mac apps really run from, which the
// catalogue's path globs miss, and checks that its bundle identifier meters it there, as
// loaded from a config like example.yaml's.
func TestBundleMatchesWhereMacAppsRun(t *testing.T) {
	root := t.TempDir()
	const id = "com.autodesk.AutoCAD"
	where := map[string]string{
		"~/Applications":       macApp(t, filepath.Join(root, "Users/alice/Applications"), "AutoCAD 2026", "AutoCAD", id, plist.XMLFormat),
		"a mounted disk image": macApp(t, filepath.Join(root, "Volumes/AutoCAD 2026"), "AutoCAD 2026", "AutoCAD", id, plist.BinaryFormat),
		"App Translocation": macApp(t, filepath.Join(root, "private/var/folders/x7/2kq0k3xs0c1_2d9n6t_f3r6h0000gn/T/AppTranslocation/8D3D4A3E-5E12-4C55-9F0B-0D1F4C1A2B3C/d"),
			"AutoCAD 2026", "AutoCAD", id, plist.XMLFormat),
		"another app's bundle":  macApp(t, filepath.Join(root, "Applications"), "Fake", "AutoCAD", "com.example.fake", plist.XMLFormat),
		"a helper app inside":   macApp(t, filepath.Join(root, "Volumes/AutoCAD 2026/AutoCAD 2026.app/Contents/Helpers"), "Updater", "AutoCAD", "com.autodesk.updater", plist.XMLFormat),
		"right id, wrong name":  macApp(t, filepath.Join(root, "Users/bob/Applications"), "AutoCAD 2026", "Installer", id, plist.XMLFormat),
		"no Info.plist":         filepath.Join(root, "Users/alice/bin/AutoCAD.app/Contents/MacOS/AutoCAD"),
		"in no bundle":          filepath.Join(root, "usr/local/bin/AutoCAD"),
		"the catalogue's place": "/Applications/Autodesk/AutoCAD 2026/AutoCAD 2026.app/Contents/MacOS/AutoCAD",
	}
	cfg, err := Parse("catalogue.yaml", []byte(`
ledger: {url: "https://ledger.example.com"}
products:
  - id: autocad
    name: Autodesk AutoCAD
    match:
      exe: ["acad.exe", "AutoCAD"]
      path: ["/Applications/Autodesk/AutoCAD */AutoCAD *.app/Contents/MacOS/AutoCAD"]
      bundle: ["com.autodesk.AutoCAD"]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		where string
		want  bool
	}{
		{"~/Applications", true},
		{"a mounted disk image", true},
		{"App Translocation", true},
		{"the catalogue's place", true},
		{"another app's bundle", false},
		{"a helper app inside", false},
		{"right id, wrong name", false},
		{"no Info.plist", false},
		{"in no bundle", false},
	}
	for _, tt := range tests {
		_, got := cfg.Match(where[tt.where], nil, "darwin")
		if got != tt.want {
			t.Errorf("%s (%s): got matched %v, want %v", tt.where, where[tt.where], got, tt.want)
		}
	}
	if got := macapp.BundleID(where["a mounted disk image"]); got != id {
		t.Errorf("BundleID of a binary Info.plist: got %q, want %q", got, id)
	}
}

func TestBundleRulesAreChecked(t *testing.T) {
	for _, tt := range []struct {
		name, bundle string
		wantErr      bool
	}{
		{"an identifier alone places a product", `["com.mcneel.rhinoceros"]`, false},
		{"a path is no identifier", `["/Applications/Rhino 8.app"]`, true},
		{"empty", `[""]`, true},
	} {
		_, err := Parse("c.yaml", []byte("ledger: {url: \"https://ledger.example.com\"}\nproducts:\n  - id: rhino\n    match: {bundle: "+tt.bundle+"}\n"))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: got error %v, want one: %v", tt.name, err, tt.wantErr)
		}
	}
}
