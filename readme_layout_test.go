package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeLayoutNamesEveryPackage: README's Layout table names every package of the
// module, so that a reader finds where a thing lives and a new package is not left out.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(data), "\n## Layout\n")
	if !ok {
		t.Fatal("got no '## Layout' section in README.md")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z][a-z0-9/]*)`").FindAllStringSubmatch(layout, -1) {
		named[m[1]] = true
	}
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 20 {
		t.Fatalf("got packages %v, want the module's", pkgs)
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "tollgate"), "/")
		if rel == "" {
			rel = "main"
		}
		if !named[rel] {
			t.Errorf("got package %s not named in README's Layout table, want a row or a mention of `%s`", p, rel)
		}
	}
}
