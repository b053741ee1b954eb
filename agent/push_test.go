//go:build linux

package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// TestConfigPush pushes drop-ins the way IT's tools do (write, then rename into conf.d)
// and checks that a bad one is refused while the agent keeps deciding with the old one.
func TestConfigPush(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	dropin := filepath.Join(filepath.Dir(r.Config), "conf.d", "50-it.yaml")
	if err := os.MkdirAll(filepath.Dir(dropin), 0o755); err != nil {
		t.Fatal(err)
	}
	push := func(content string, mode os.FileMode) {
		t.Helper()
		tmp := filepath.Join(r.Dir, "push.tmp")
		if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(tmp, mode)
		if err := os.Rename(tmp, dropin); err != nil {
			t.Fatal(err)
		}
	}
	push("admin_contact: \"Helpdesk, ext. 300\"\n", 0o644)
	r.WaitFor("the good push", func(st localapi.Status) bool { return st.AdminContact == "Helpdesk, ext. 300" })

	bad := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"syntax error", "admin_contact: [oops\n", 0o644, "50-it.yaml:"},
		{"unknown key", "admin_contactt: \"x\"\n", 0o644, `unknown`},
		{"wrong type", "policy:\n  poll_interval: often\n", 0o644, "50-it.yaml:2"},
		{"wrong permissions", "admin_contact: \"Mallory\"\n", 0o666, "chmod go-w"},
		{"half-written file", "products:\n  - id: maya\n    name: \"Autodesk Ma", 0o644, "50-it.yaml"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			push(b.content, b.mode)
			st := r.WaitFor("the refusal", func(st localapi.Status) bool { return strings.Contains(st.Config.Err, b.want) })
			if st.AdminContact != "Helpdesk, ext. 300" {
				t.Errorf("got admin contact %q after a bad push, want the old config in force", st.AdminContact)
			}
			// Still deciding: a launch opens a session.
			p := r.Launch("bin/revit")
			r.WaitFor("a launch decided under the old config", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return ok && s.Procs == 1 })
			r.Quit(p)
			r.WaitFor("the process gone", func(st localapi.Status) bool { s, _ := agenttest.SessionOf(st, "revit"); return s.Procs == 0 })

		})
	}
	push("admin_contact: \"Studio IT, ext. 400\"\n", 0o644)
	st := r.WaitFor("recovery", func(st localapi.Status) bool { return st.AdminContact == "Studio IT, ext. 400" })
	if st.Config.Err != "" {
		t.Errorf("got config error %q after a good push, want none", st.Config.Err)
	}
}
