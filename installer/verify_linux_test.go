//go:build linux

package installer

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tollgate/platform"
)

// requireTool fails, not skips, without a checker that scripts/test installs.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed to check the generated files: apt-get install %s (scripts/test does)", name, pkg)
	}
	return p
}

// verifyUnit runs systemd-analyze verify on a unit file and fails on anything it says:
// an unknown key is only a warning to systemd, but a mistake here.
func verifyUnit(t *testing.T, unit string) {
	t.Helper()
	tool := requireTool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(tool, "--man=no", "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}

func validateDesktop(t *testing.T, file string) {
	t.Helper()
	tool := requireTool(t, "desktop-file-validate", "desktop-file-utils")
	out, err := exec.Command(tool, file).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("desktop-file-validate %s: %v\n%s", file, err, out)
	}
}

// unitKeys reads a unit file's [Service] section: key to values, in order.
func unitKeys(t *testing.T, unit string) map[string][]string {
	t.Helper()
	f, err := os.Open(unit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			section = line
		case section == "[Service]":
			k, v, _ := strings.Cut(line, "=")
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// splitExecStart splits a command line as systemd.service(5) says systemd does, for what
// the renderer writes: words, double quotes with C escapes, %% everywhere and $$ in the
// arguments.
func splitExecStart(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line):
			i++
			switch line[i] {
			case 'n':
				w.WriteByte('\n')
			case 't':
				w.WriteByte('\t')
			default:
				w.WriteByte(line[i])
			}
		case quoted && c == '"':
			quoted = false
		case !quoted && c == '"':
			quoted, inWord = true, true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '$' && len(words) == 0:
			// The program's path is not subject to $ expansion.
			w.WriteByte(c)
			inWord = true
		case (c == '%' || c == '$') && i+1 < len(line) && line[i+1] == c:
			i++
			w.WriteByte(c)
			inWord = true
		case c == '%' || c == '$':
			t.Fatalf("unescaped %c in %s: systemd would expand it", c, line)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %s", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestUnitVerifies checks the Linux unit as systemd reads it, for the default paths and
// for a binary whose path needs every kind of quoting: systemd-analyze verify checks that
// ExecStart's program exists, so a quoting mistake fails it.
func TestUnitVerifies(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	// The odd paths need quoting, escaping of systemd's % and $, and C escapes (\x would
	// start a hex escape if the backslash were not doubled).
	odd := platform.Paths{ConfigFile: `/etc/tollgate "x" $HOME %n \x/tollgate.yaml`, ConfigDir: `/etc/tollgate "x" $HOME %n \x`,
		StateDir: "/var/lib/tollgate", LogDir: "/var/log/tollgate", Socket: "/run/tollgate/tollgate.sock"}
	tests := []struct {
		name, binary string
		paths        platform.Paths
	}{
		{"default", "tollgate", targets[0].paths},
		{"odd", "my tools/toll$gate %n", odd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, tt.binary)
			if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin, data, 0o755); err != nil {
				t.Fatal(err)
			}
			p, err := NewPlan(Options{OS: "linux", Paths: tt.paths, Binary: bin})
			if err != nil {
				t.Fatal(err)
			}
			unit := filepath.Join(dir, "tollgate.service")
			if err := os.WriteFile(unit, p.filesOf(RoleService)[0].Data, 0o644); err != nil {
				t.Fatal(err)
			}
			verifyUnit(t, unit)
			got := splitExecStart(t, unitKeys(t, unit)["ExecStart"][0])
			if want := append([]string{bin}, p.Service.Args...); !slices.Equal(got, want) {
				t.Errorf("ExecStart reads back as %q, want %q", got, want)
			}

			desktop := filepath.Join(dir, "tollgate-notifier.desktop")
			if err := os.WriteFile(desktop, p.filesOf(RoleAutostart)[0].Data, 0o644); err != nil {
				t.Fatal(err)
			}
			validateDesktop(t, desktop)
		})
	}
}

func TestSplitExecStart(t *testing.T) {
	got := splitExecStart(t, `"/a b/c%%d" "x\"y\\z" %%y $$z ""`)
	if want := []string{`/a b/c%d`, `x"y\z`, "%y", "$z", ""}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
