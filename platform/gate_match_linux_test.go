package platform

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGateSplitGlob(t *testing.T) {
	tests := []struct {
		path, wantLiteral, wantRest string
	}{
		{"/opt/autodesk/revit", "/opt/autodesk/revit", ""},
		{"/opt/autodesk/revit-*/bin/revit", "/opt/autodesk", "revit-*/bin/revit"},
		{"/*/revit", "/", "*/revit"},
		{"/opt/[ab]cad", "/opt", "[ab]cad"},
		{"/", "/", ""},
	}
	for _, tt := range tests {
		lit, rest := gateSplitGlob(tt.path)
		if lit != tt.wantLiteral || rest != tt.wantRest {
			t.Errorf("gateSplitGlob(%q) = %q, %q; want %q, %q", tt.path, lit, rest, tt.wantLiteral, tt.wantRest)
		}
	}
}

func TestGateRulesMatch(t *testing.T) {
	root := gateRealTempDir(t)
	for _, d := range []string{"autodesk/revit-2025/bin", "tools"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"autodesk/revit-2025/bin/revit", "tools/revit"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "autodesk"), filepath.Join(root, "ad")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		paths []string // relative to root
		exe   string   // relative to root, as the kernel names it
		want  bool
	}{
		{"file itself", []string{"autodesk/revit-2025/bin/revit"}, "autodesk/revit-2025/bin/revit", true},
		{"file's sibling", []string{"autodesk/revit-2025/bin/revit"}, "autodesk/revit-2025/bin/revit2", false},
		{"file's name elsewhere", []string{"autodesk/revit-2025/bin/revit"}, "tools/revit", false},
		{"below a directory", []string{"autodesk"}, "autodesk/revit-2025/bin/revit", true},
		{"directory name as prefix", []string{"autodesk"}, "autodesk2/revit", false},
		{"below a symlinked directory", []string{"ad"}, "autodesk/revit-2025/bin/revit", true},
		{"glob on a file", []string{"autodesk/revit-*/bin/revit"}, "autodesk/revit-2025/bin/revit", true},
		{"glob on a directory", []string{"autodesk/revit-*"}, "autodesk/revit-2025/bin/revit", true},
		{"glob through a symlink", []string{"ad/revit-*/bin/revit"}, "autodesk/revit-2025/bin/revit", true},
		{"glob that does not match", []string{"autodesk/acad-*"}, "autodesk/revit-2025/bin/revit", false},
		{"not yet installed", []string{"autodesk/revit-2026/bin/revit"}, "autodesk/revit-2026/bin/revit", true},
		{"not yet installed below a symlink", []string{"ad/acad"}, "autodesk/acad/acad", true},
		{"no paths", nil, "autodesk/revit-2025/bin/revit", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(root, p))
			}
			rules, _, err := gateRulesFor(paths)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules.match(filepath.Join(root, tt.exe)); got != tt.want {
				t.Errorf("match(%s) with paths %q = %v, want %v", tt.exe, tt.paths, got, tt.want)
			}
		})
	}
}

func TestGateResolveMarks(t *testing.T) {
	root := gateRealTempDir(t)
	if err := os.MkdirAll(filepath.Join(root, "autodesk/revit"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "autodesk/revit/revit"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path          string
		wantMarkPath  string
		wantMarkMount bool
	}{
		// An existing file: its directory, so a replaced binary stays gated.
		{"autodesk/revit/revit", "autodesk/revit", false},
		{"autodesk", "autodesk", true},
		{"autodesk/rev*/revit", "autodesk", true},
		{"autodesk/acad/acad", "autodesk", true},
	}
	for _, tt := range tests {
		got, err := gateResolve(filepath.Join(root, tt.path))
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(root, tt.wantMarkPath); got.markPath != want || got.markMount != tt.wantMarkMount {
			t.Errorf("gateResolve(%s) marks %s (mount %v), want %s (mount %v)", tt.path, got.markPath, got.markMount, want, tt.wantMarkMount)
		}
	}
}

func TestGateResolveRejects(t *testing.T) {
	for _, p := range []string{"revit", "opt/revit", "/opt/[revit"} {
		if _, err := gateResolve(p); err == nil {
			t.Errorf("gateResolve(%q) = nil error, want one", p)
		}
	}
}

// gateRealTempDir is t.TempDir with symlinks resolved, as the kernel names paths.
func gateRealTempDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
