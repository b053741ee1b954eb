package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateIdleMonth runs the bundled month where closing idle products saves tokens,
// under close and, rewritten to renew, under today's behaviour, and holds both to golden
// files and to the totals a reader checks.
func TestSimulateIdleMonth(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("examples", "idle-month.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	renew := filepath.Join(t.TempDir(), "idle-month-renew.yaml")
	if err := os.WriteFile(renew, []byte(strings.Replace(string(src), "\n  renewal_when_idle: close\n", "\n  renewal_when_idle: renew\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, golden string
		want               []string
		not                []string
	}{
		{"close", "../../examples/idle-month.yaml", "idle-month", []string{
			"tom@studio.example's AutoCAD has been idle since Fri 2026-11-13 16:00: it will be closed at Sat 2026-11-14 08:45 to save 7 tokens unless touched",
			"tom@studio.example's AutoCAD closed while idle: 7 tokens saved",
			"studio    177",
			"idle products: 0 tokens spent on 0 renewals of products nobody was using; 24 tokens saved by 3 idle closes",
			"ana@studio.example charged 5 tokens for Rhino (window renewed)", // no notifier: never idle
		}, []string{"mary@studio.example charged 10 tokens for Autodesk Revit (window renewed while nobody"}},
		{"renew", renew, "idle-month-renew", []string{
			"studio    533",
			"idle products: 146 tokens spent on 20 renewals of products nobody was using; 0 tokens saved by 0 idle closes",
			"charged 10 tokens for Autodesk Revit (window renewed while nobody was using it)",
		}, []string{"closed while idle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if !filepath.IsAbs(file) {
				file = filepath.Join("testdata", "simulate", file)
			}
			text, errOut, code := runCLI(t, "simulate", file)
			if code != 0 {
				t.Fatalf("got exit %d, stderr %q; want 0", code, errOut)
			}
			js, errOut, code := runCLI(t, "simulate", "--json", file)
			if code != 0 {
				t.Fatalf("got exit %d, stderr %q; want 0", code, errOut)
			}
			golden(t, filepath.Join("testdata", "simulate", tt.golden+".txt"), text)
			golden(t, filepath.Join("testdata", "simulate", tt.golden+".json"), js)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("got text without %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(text, w) {
					t.Errorf("got text with %q, want none", w)
				}
			}
		})
	}
}
