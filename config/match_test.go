package config

import (
	"testing"
)

func TestMatches(t *testing.T) {
	revit := Match{
		Exe:  []string{"Revit.exe"},
		Path: []string{"C:/Program Files/Autodesk/Revit */Revit.exe"},
	}
	tests := []struct {
		name  string
		match Match
		exe   string
		args  []string
		goos  string
		want  bool
	}{
		{"windows path with backslashes", revit, `C:\Program Files\Autodesk\Revit 2025\Revit.exe`, nil, "windows", true},
		{"windows ignores case", revit, `c:\PROGRAM FILES\autodesk\revit 2025\REVIT.EXE`, nil, "windows", true},
		{"windows long-path prefix", revit, `\\?\C:\Program Files\Autodesk\Revit 2025\Revit.exe`, nil, "windows", true},
		{"linux keeps case", Match{Exe: []string{"Revit.exe"}}, "/opt/revit/REVIT.EXE", nil, "linux", false},
		{"linux exact case", Match{Exe: []string{"Revit.exe"}}, "/opt/revit/Revit.exe", nil, "linux", true},
		{"darwin keeps case", Match{Path: []string{"/Applications/Rhino *.app/Contents/MacOS/Rhinoceros"}}, "/Applications/rhino 8.app/Contents/MacOS/Rhinoceros", nil, "darwin", false},
		{"darwin path", Match{Path: []string{"/Applications/Rhino *.app/Contents/MacOS/Rhinoceros"}}, "/Applications/Rhino 8.app/Contents/MacOS/Rhinoceros", nil, "darwin", true},
		{"exe right, path wrong: every rule must hold", revit, `D:\Portable\Revit.exe`, nil, "windows", false},
		{"path glob does not cross folders", revit, `C:\Program Files\Autodesk\Revit 2025\bin\Revit.exe`, nil, "windows", false},
		{"exe name only", Match{Exe: []string{"Revit.exe"}}, `D:\Portable\Revit.exe`, nil, "windows", true},
		{"another exe", Match{Exe: []string{"Revit.exe"}}, `C:\Windows\notepad.exe`, nil, "windows", false},
		{"backslash in a rule reads as a separator", Match{Path: []string{`C:\Tools\*.exe`}}, `C:\Tools\x.exe`, nil, "windows", true},
		{"args must match", Match{Exe: []string{"acad.exe"}, Args: `/product "?C3D`}, `C:\acad.exe`, []string{"/product", "C3D"}, "windows", true},
		{"args do not match", Match{Exe: []string{"acad.exe"}, Args: `/product "?C3D`}, `C:\acad.exe`, []string{"/product", "ACAD"}, "windows", false},
		{"args are case-sensitive unless (?i)", Match{Exe: []string{"acad.exe"}, Args: `/product c3d`}, `C:\acad.exe`, []string{"/product", "C3D"}, "windows", false},
		{"args with (?i)", Match{Exe: []string{"acad.exe"}, Args: `(?i)/product c3d`}, `C:\acad.exe`, []string{"/product", "C3D"}, "windows", true},
		{"anchored args", Match{Exe: []string{"blender"}, Args: `^--background$`}, "/usr/bin/blender", []string{"--background", "x"}, "linux", false},
		{"no rules match nothing", Match{}, "/usr/bin/anything", nil, "linux", false},
		{"empty exe path", Match{Exe: []string{"Revit.exe"}}, "", nil, "windows", false},
		{"an invalid regexp matches nothing", Match{Exe: []string{"acad.exe"}, Args: "("}, `C:\acad.exe`, nil, "windows", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Product{ID: "p", Match: tt.match}
			if got := p.Matches(tt.exe, tt.args, tt.goos); got != tt.want {
				t.Errorf("Matches(%q, %q, %s) = %v, want %v", tt.exe, tt.args, tt.goos, got, tt.want)
			}
			// A loaded product, with its rules compiled once, answers the same.
			p.m = compile(p.Match)
			if got := p.Matches(tt.exe, tt.args, tt.goos); got != tt.want {
				t.Errorf("compiled Matches(%q, %q, %s) = %v, want %v", tt.exe, tt.args, tt.goos, got, tt.want)
			}
		})
	}
}

func TestConfigMatchFirstWins(t *testing.T) {
	c, err := Parse("/etc/tollgate/config.yaml", []byte(`entitlement_file: e.json
products:
  - id: civil3d
    match: {exe: [acad.exe], args: "/product C3D"}
  - id: autocad
    match: {exe: [acad.exe]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"/product", "C3D"}, "civil3d"},
		{[]string{"/product", "ACAD"}, "autocad"},
		{nil, "autocad"},
	}
	for _, tt := range tests {
		got, ok := c.Match(`C:\AutoCAD\acad.exe`, tt.args, "windows")
		if !ok || got.ID != tt.want {
			t.Errorf("Match(acad.exe %q) = %q, %v, want %q", tt.args, got.ID, ok, tt.want)
		}
	}
	if p, ok := c.Product("autocad"); !ok || p.Name != "autocad" {
		t.Errorf(`Product("autocad") = %+v, %v, want it, named after its id`, p, ok)
	}
}

// BenchmarkMatches measures a catalogue scan for one new process against a baseline of
// comparing base names only, the least any matcher must do.
func BenchmarkMatches(b *testing.B) {
	c, err := Parse("/etc/tollgate/config.yaml", []byte(`entitlement_file: e.json
products:
  - {id: revit, match: {exe: [Revit.exe], path: ["C:/Program Files/Autodesk/Revit */Revit.exe"]}}
  - {id: civil3d, match: {exe: [acad.exe], path: ["C:/Program Files/Autodesk/AutoCAD */acad.exe"], args: '(?i)/product "?C3D'}}
  - {id: autocad, match: {exe: [acad.exe, AutoCAD], path: ["C:/Program Files/Autodesk/AutoCAD */acad.exe"]}}
  - {id: rhino, match: {exe: [Rhino.exe, Rhinoceros], path: ["C:/Program Files/Rhino */System/Rhino.exe"]}}
  - {id: sketchup, match: {exe: [SketchUp.exe], path: ["C:/Program Files/SketchUp/SketchUp */SketchUp.exe"]}}
`))
	if err != nil {
		b.Fatal(err)
	}
	const exe = `C:\Program Files\SketchUp\SketchUp 2024\SketchUp.exe`
	b.Run("baseline-basename", func(b *testing.B) {
		for b.Loop() {
			base := exe[len(`C:\Program Files\SketchUp\SketchUp 2024\`):]
			for _, p := range c.Products {
				for _, e := range p.Match.Exe {
					if e == base {
						break
					}
				}
			}
		}
	})
	b.Run("config-match", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Match(exe, nil, "windows"); !ok {
				b.Fatal("no match")
			}
		}
	})
}
