package platform

import (
	"context"
	"io"
	"os/exec"
	"reflect"
	"testing"
)

// TestScanCatchesLateExec is the bypass of issue 16 on a real shell: a wrapper that is no
// product (sh) waits as long as it likes, then execs the product in its own place, keeping
// its pid and create time. Polling (macOS always, Linux without process events) must meter
// the product however many scans saw the wrapper first.
func TestScanCatchesLateExec(t *testing.T) {
	ctx := context.Background()
	bins := procBuildHelper(t, "revit")
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(SourceOptions{Filter: procOnly("revit"), PollOnly: true})
	if _, err := src.Scan(ctx); err != nil {
		t.Fatalf("first Scan: %v", err)
	}
	// `sh -c 'sleep 3; exec AutoCAD'`, with the sleep replaced by a line on stdin so that the
	// test decides how many scans pass before the exec.
	c := procStart(t, sh, "-c", `echo ready; read line; exec "$0" wait`, bins["revit"])
	const scansBefore = 25 // the source used to re-check names only in its first 3 scans
	for i := range scansBefore {
		d, err := src.Scan(ctx)
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		if d = procOf(d, c.pid()); !d.Empty() {
			t.Fatalf("scan %d, before the exec: got %+v, want nothing about the wrapper", i, d)
		}
	}
	io.WriteString(c.stdin, "go\n")
	c.ready(t) // revit, in the shell's place

	d, err := src.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan after the exec: %v", err)
	}
	d = procOf(d, c.pid())
	p, ok := procFind(d, c.pid())
	if !ok || p.Name != "revit" || p.Exe != bins["revit"] || len(d.Exited) != 0 {
		t.Fatalf("after the exec: got %+v, want revit (pid %d) started, at %s", d, c.pid(), bins["revit"])
	}
	if d, err := src.Scan(ctx); err != nil || !procOf(d, c.pid()).Empty() {
		t.Errorf("the scan after: got %+v, %v; want nothing new", procOf(d, c.pid()), err)
	}
	c.end(t)
	if d, err := src.Scan(ctx); err != nil || !reflect.DeepEqual(procOf(d, c.pid()), Diff{Exited: []ProcKey{p.Key}}) {
		t.Errorf("after exit: got %+v, %v; want the exit of %v", procOf(d, c.pid()), err, p.Key)
	}
}
