package up

import (
	"os"
	"path/filepath"
	"testing"

	"tollgate/config"
)

// TestSampleCatalogueMatchesEachOS writes the config `tollgate up` writes for each OS and
// loads it as the agent does: each product's real executable, where it installs, must be
// metered (issue 16: on a Mac only SketchUp was).
func TestSampleCatalogueMatchesEachOS(t *testing.T) {
	tests := []struct {
		goos, exe, want string
	}{
		{"darwin", "/Applications/Autodesk/AutoCAD 2026/AutoCAD 2026.app/Contents/MacOS/AutoCAD", "autocad"},
		{"darwin", "/Applications/Rhino 8.app/Contents/MacOS/Rhinoceros", "rhino"},
		{"darwin", "/Applications/SketchUp 2025/SketchUp.app/Contents/MacOS/SketchUp", "sketchup"},
		{"darwin", "/Users/alice/bin/Revit", "revit"},
		{"windows", `C:\Program Files\Autodesk\AutoCAD 2026\acad.exe`, "autocad"},
		{"windows", `C:\Program Files\Autodesk\Revit 2026\Revit.exe`, "revit"},
		{"windows", `C:\Program Files\Rhino 8\System\Rhino.exe`, "rhino"},
		{"windows", `C:\Program Files\SketchUp\SketchUp 2025\SketchUp.exe`, "sketchup"},
		{"linux", "/opt/autodesk/acad", "autocad"},
		{"linux", "/home/alice/Rhino", "rhino"},
		{"linux", "/usr/bin/bash", ""},
	}
	for _, tt := range tests {
		data := t.TempDir()
		if err := os.Mkdir(filepath.Join(data, "conf.d"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeConfig(data, "http://127.0.0.1:7480", tt.goos); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(filepath.Join(data, "tollgate.yaml"))
		if err != nil {
			t.Fatalf("%s: loading the written config: %v", tt.goos, err)
		}
		got := ""
		if p, ok := cfg.Match(tt.exe, nil, tt.goos); ok {
			got = p.ID
		}
		if got != tt.want {
			t.Errorf("%s %s: got product %q, want %q", tt.goos, tt.exe, got, tt.want)
		}
	}
}
