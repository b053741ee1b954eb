package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"tollgate/sim"
)

// printHeld is how `tollgate simulate` printed before it streamed: the whole result held,
// its lines sorted by time, the device column and the time layout taken from the lines.
// The reference the streamed output must equal byte for byte.
func printHeld(w io.Writer, res *sim.Result) {
	width, layout := 1, "2006-01-02 15:04:05"
	for _, l := range res.Lines {
		width = max(width, len(l.Device))
		if l.At.Nanosecond() != 0 {
			layout = "2006-01-02 15:04:05.000"
		}
	}
	indent := strings.Repeat(" ", len(layout)+2+width+1)
	lines := slices.Clone(res.Lines)
	slices.SortStableFunc(lines, func(a, b sim.Line) int { return a.At.Compare(b.At) })
	for _, l := range lines {
		dev := l.Device
		if dev == "" {
			dev = "-"
		}
		fmt.Fprintf(w, "%s  %-*s %s\n", l.At.UTC().Format(layout), width, dev, l.Text)
		for _, d := range l.Details {
			fmt.Fprintf(w, "%s  %s\n", indent, d)
		}
	}
	printTotals(w, res)
}

// TestSimulateStreamsWhatItHeld: for every timeline the project ships (the examples, the
// golden timelines, the simulator's fuzz corpus), `tollgate simulate` and `--json`, which
// stream, print exactly what the held result printed: the text sorted by time with the
// same columns, and the same JSON document byte for byte.
func TestSimulateStreamsWhatItHeld(t *testing.T) {
	files := map[string][]byte{}
	for _, glob := range []string{"examples/*.yaml", "testdata/simulate/*.yaml", "sim/testdata/fuzz/FuzzTimeline/*"} {
		names, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(string(data), "go test fuzz v1") {
				_, arg, _ := strings.Cut(string(data), "[]byte(")
				s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimSpace(arg), ")"))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				data = []byte(s)
			}
			files[name] = data
		}
	}
	ran := 0
	for name, data := range files {
		tl, err := sim.Parse(name, data)
		if err != nil {
			continue // the fuzz corpus has broken timelines on purpose
		}
		held, err := sim.Run(tl)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var text bytes.Buffer
		printHeld(&text, held)
		var js bytes.Buffer
		enc := json.NewEncoder(&js)
		enc.SetIndent("", "  ")
		if err := enc.Encode(held); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "timeline.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			args []string
			want string
		}{{[]string{"simulate", path}, text.String()}, {[]string{"simulate", "--json", path}, js.String()}} {
			got, errOut, code := runCLI(t, tt.args...)
			if code != 0 {
				t.Fatalf("%s: %v: got exit %d, stderr %q", name, tt.args, code, errOut)
			}
			if got != tt.want {
				t.Errorf("%s: %v: got output different from the held result's:\n%s", name, tt.args[:len(tt.args)-1], firstDiff(tt.want, got))
			}
		}
		ran++
	}
	if ran < 20 {
		t.Errorf("got %d timelines compared, want the 20 or more the project ships", ran)
	}
}
