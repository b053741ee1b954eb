package ctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/cli"
)

func TestGateLine(t *testing.T) {
	tests := []struct {
		line    string
		want    gateLine
		wantErr bool
	}{
		{`"C:\Program Files\tollgate\tollgate.exe" gate "C:\Program Files\Autodesk\Revit 2026\Revit.exe" "C:\p\tower one.rvt" /language ENU`,
			gateLine{product: `"C:\Program Files\Autodesk\Revit 2026\Revit.exe" "C:\p\tower one.rvt" /language ENU`, exe: `C:\Program Files\Autodesk\Revit 2026\Revit.exe`}, false},
		{`C:\tg\tollgate.exe gate C:\apps\acad.exe`, gateLine{product: `C:\apps\acad.exe`, exe: `C:\apps\acad.exe`}, false},
		{`tollgate.exe  gate  --socket \\.\pipe\tg-1 --config "C:\tg\my conf.yaml"   Revit.exe a  b`,
			gateLine{socket: `\\.\pipe\tg-1`, config: `C:\tg\my conf.yaml`, product: `Revit.exe a  b`, exe: `Revit.exe`}, false},
		{`tollgate.exe gate`, gateLine{}, true},
		{`tollgate.exe status Revit.exe`, gateLine{}, true},
	}
	for _, tt := range tests {
		got, err := parseGateLine(tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseGateLine(%s): got error %v, want error %v", tt.line, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("parseGateLine(%s):\ngot  %+v\nwant %+v", tt.line, got, tt.want)
		}
	}
}

// TestGateDecision is the gate's decision with the agent's answer given (the agent's own
// decisions are tested with the agent): what starts, what is shown, and the exit code.
func TestGateDecision(t *testing.T) {
	dir := removableTempDir(t)
	cfg := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(cfg, []byte("ledger: {url: \"https://ledger.studio.example\"}\nproducts:\n  - id: revit\n    name: Autodesk Revit\n    match: {exe: [Revit.exe]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	allowed := localapi.CheckResult{Decision: charge.Decision{Allowed: true}, Name: "Autodesk Revit"}
	denied := localapi.CheckResult{Name: "Autodesk Revit", Message: "Your team has 3 tokens; a day costs 10.", Contact: "it@studio.example"}
	tests := []struct {
		name       string
		exe        string
		answer     localapi.CheckResult
		answerErr  error
		wantAsked  string
		wantStart  bool
		wantNotice string
		wantCode   int
	}{
		{"allowed", `C:\Autodesk\REVIT.EXE`, allowed, nil, "revit", true, "", 7},
		{"denied", `C:\Autodesk\Revit.exe`, denied, nil, "revit", false, "Autodesk Revit was not started|Your team has 3 tokens; a day costs 10.\nContact it@studio.example.", cli.ExitDenied},
		{"agent does not answer", `C:\Autodesk\Revit.exe`, localapi.CheckResult{}, localapi.ErrAgentTimeout, "revit", true, "", 7},
		{"not in the catalogue", `C:\Windows\notepad.exe`, denied, nil, "", true, "", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked, notice string
			started := false
			osx := gateOS{
				check: func(_ context.Context, _, product string) (localapi.CheckResult, error) {
					asked = product
					return tt.answer, tt.answerErr
				},
				start: func(cmdline string) (func() (int, error), error) {
					started = true
					if cmdline != `"`+tt.exe+`" x.rvt` {
						return nil, errors.New("got command line " + cmdline)
					}
					return func() (int, error) { return 7, nil }, nil
				},
				notify: func(title, body string) { notice = title + "|" + body },
			}
			code, err := runGateLine(context.Background(), gateLine{exe: tt.exe, product: `"` + tt.exe + `" x.rvt`}, cfg, osx)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{asked, started, notice, code}
			want := []any{tt.wantAsked, tt.wantStart, tt.wantNotice, tt.wantCode}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got asked %q, started %v, notice %q, exit %d; want %q, %v, %q, %d", got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3])
			}
		})
	}
}

// removableTempDir is t.TempDir, removed file by file: under Wine 8 os.RemoveAll fails
// ("Invalid function") where os.Remove works, and these tests run there too.
func removableTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "tollgate-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error { paths = append(paths, p); return nil })
		for i := len(paths) - 1; i >= 0; i-- {
			os.Remove(paths[i])
		}
	})
	return dir
}
