package up

import (
	"strings"
	"testing"
)

// TestHintsPasteable: the commands up suggests are pasteable into the user's shell: sh quoting
// on Linux and macOS; on Windows, cmd.exe's (a path in double quotes only when it must be, and
// the ledger's address and token as flags, as cmd.exe has no VAR=value prefix), and no talk of
// root, which Windows does not have.
func TestHintsPasteable(t *testing.T) {
	const url, admin = "http://127.0.0.1:7480", "tga_x"
	tests := []struct {
		name, goos string
		root       bool
		cli        string
		want       []string
		wantNot    []string
	}{
		{"linux, a path with a space", "linux", false, "/home/al ice/tollgate", []string{
			"  '/home/al ice/tollgate' status\n",
			"  '/home/al ice/tollgate' check revit\n",
			"  TOLLGATE_LEDGER_URL=http://127.0.0.1:7480 TOLLGATE_ADMIN_TOKEN=tga_x '/home/al ice/tollgate' ledger report tokens --team studio\n",
			"not run as root"}, nil},
		{"linux as root", "linux", true, "/usr/local/bin/tollgate", []string{"  /usr/local/bin/tollgate status\n", "add match.path in /d/tollgate.yaml"}, []string{"not run as root"}},
		{"windows", "windows", false, `C:\tools\tollgate.exe`, []string{
			`  C:\tools\tollgate.exe status` + "\n",
			`  C:\tools\tollgate.exe check revit` + "\n",
			`  C:\tools\tollgate.exe ledger report tokens --team studio --url http://127.0.0.1:7480 --token tga_x` + "\n",
			"tollgate install --launch-gate"}, []string{"'", "root", "TOLLGATE_LEDGER_URL="}},
		{"windows, a path with a space", "windows", false, `C:\Program Files\tollgate\tollgate.exe`, []string{
			`  "C:\Program Files\tollgate\tollgate.exe" status` + "\n"}, []string{"'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hints(tt.goos, tt.root, tt.cli, url, admin, "studio", "/d/tollgate.yaml")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got\n%s\nwant it to contain %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("got\n%s\nwant no %q in it", got, w)
				}
			}
		})
	}
}
