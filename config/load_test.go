package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// base is a small valid main file; cases add to it or replace it.
const base = `admin_contact: Studio IT
entitlement_file: /var/lib/tollgate/entitlement.json
products:
  - id: revit
    match: {exe: [Revit.exe]}
`

// writeTree writes files (paths relative to dir, '/'-separated) with mode 0644 whatever
// the umask, in folders with mode 0755.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string // "config.yaml" is the main file
		wantFile string            // relative to the folder
		wantLine int
		wantMsg  string
	}{
		{
			name:     "syntax error",
			files:    map[string]string{"config.yaml": base + "policy:\n  close_after: [15m\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "YAML syntax: did not find expected ',' or ']'",
		},
		{
			name:     "syntax error counted from 1 where yaml counts from 0",
			files:    map[string]string{"config.yaml": "- revit\nadmin_contact: IT\n"},
			wantFile: "config.yaml", wantLine: 2,
			wantMsg: "did not find expected '-' indicator",
		},
		{
			name:     "tab indentation",
			files:    map[string]string{"config.yaml": base + "log:\n\tlevel: info\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "indent with spaces, not tabs",
		},
		{
			name: "unknown key in a drop-in",
			files: map[string]string{
				"config.yaml":          base,
				"conf.d/10-revit.yaml": "products:\n  - id: revit\n    name: Revit\n    match: {exe: [Revit.exe]}\n    rat: 10\n",
			},
			wantFile: "conf.d/10-revit.yaml", wantLine: 5,
			wantMsg: `unknown field "rat" in products[0]; known fields: id, name, match`,
		},
		{
			name:     "unknown key with a likely typo",
			files:    map[string]string{"config.yaml": base + "admin_contct: IT\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: `unknown field "admin_contct" at the top level; known fields: admin_contact, ledger, entitlement_file, identity, products, policy, log (did you mean "admin_contact"?)`,
		},
		{
			name:     "wrong type: text for a bool",
			files:    map[string]string{"config.yaml": base + "policy:\n  grace_notice: maybe\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `policy.grace_notice: want true or false, got "maybe"`,
		},
		{
			name:     "wrong type: a value for a list",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts: revit\n"},
			wantFile: "config.yaml", wantLine: 2,
			wantMsg: `products: want a list of products, each starting with "- id: ...", got "revit"`,
		},
		{
			name:     "wrong type: a group for a value",
			files:    map[string]string{"config.yaml": base + "log:\n  file: {path: /x}\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "log.file: want a single value, got a group of settings",
		},
		{
			name:     "wrong type: a value for a group",
			files:    map[string]string{"config.yaml": base + "policy: strict\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: `policy: want its settings as name: value lines indented below it, got "strict"`,
		},
		{
			name:     "wrong type: a fraction for a whole number",
			files:    map[string]string{"config.yaml": base + "log:\n  max_backups: 1.5\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `log.max_backups: want a whole number, got "1.5"`,
		},
		{
			name:     "wrong type: a value for a list of names",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: revit\n    match:\n      exe: Revit.exe\n"},
			wantFile: "config.yaml", wantLine: 5,
			wantMsg: `products[0].match.exe: want a list, like ["Revit.exe"]`,
		},
		{
			name:     "bad duration",
			files:    map[string]string{"config.yaml": base + "policy:\n  close_after: 15 minutes\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `policy.close_after: "15 minutes" is not a duration`,
		},
		{
			name:     "duration without a unit",
			files:    map[string]string{"config.yaml": base + "policy:\n  poll_interval: 500\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "policy.poll_interval: 500 has no unit",
		},
		{
			name:     "duration in days",
			files:    map[string]string{"config.yaml": base + "policy:\n  offline_max_age: 1d\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "there is no day unit: write 24h for a day",
		},
		{
			name:     "negative duration",
			files:    map[string]string{"config.yaml": base + "policy:\n  offline_max_age: -1h\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "policy.offline_max_age: -1h0m0s is negative",
		},
		{
			name:     "poll interval below 50ms",
			files:    map[string]string{"config.yaml": base + "policy:\n  poll_interval: 10ms\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "policy.poll_interval: 10ms is below 50ms",
		},
		{
			name: "a drop-in's value is blamed on the drop-in",
			files: map[string]string{
				"config.yaml":         base + "policy:\n  poll_interval: 500ms\n",
				"conf.d/30-fast.yaml": "# faster\npolicy:\n  poll_interval: 5ms\n",
			},
			wantFile: "conf.d/30-fast.yaml", wantLine: 3,
			wantMsg: "policy.poll_interval: 5ms is below 50ms",
		},
		{
			name:     "bad enum",
			files:    map[string]string{"config.yaml": base + "policy:\n  renewal_when_empty: charge\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `policy.renewal_when_empty: unknown value "charge": use overdraw or close`,
		},
		{
			name:     "bad log level",
			files:    map[string]string{"config.yaml": base + "log:\n  level: verbose\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `log.level: unknown level "verbose": use debug, info, warn or error`,
		},
		{
			name:     "duplicate id",
			files:    map[string]string{"config.yaml": base + "  - id: revit\n    match: {exe: [Revit2.exe]}\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: `products[1]: duplicate id "revit" (also on line 4)`,
		},
		{
			name:     "duplicate key",
			files:    map[string]string{"config.yaml": base + "admin_contact: Other IT\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: "admin_contact is set twice at the top level (also on line 1)",
		},
		{
			name:     "product without id",
			files:    map[string]string{"config.yaml": base + "  - name: Rhino\n    match: {exe: [Rhino.exe]}\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: "products[1]: has no id",
		},
		{
			name:     "bad product id",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: Revit 2024\n    match: {exe: [Revit.exe]}\n"},
			wantFile: "config.yaml", wantLine: 3,
			wantMsg: `products[0].id: "Revit 2024": use 1 to 64 lowercase letters`,
		},
		{
			name:     "product that matches nothing",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: revit\n    name: Revit\n"},
			wantFile: "config.yaml", wantLine: 3,
			wantMsg: "products[0].match: give match.exe or match.path (or both)",
		},
		{
			name:     "bad regexp",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: civil3d\n    match:\n      exe: [acad.exe]\n      args: '/product (C3D'\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: `products[0].match.args: "/product (C3D" is not a valid regular expression`,
		},
		{
			name:     "bad glob",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: revit\n    match:\n      path:\n        - C:/Program Files/Autodesk/Revit */Revit.exe\n        - C:/Program Files/Autodesk/Revit [2024/Revit.exe\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `products[0].match.path[1]: "C:/Program Files/Autodesk/Revit [2024/Revit.exe" is not a valid pattern`,
		},
		{
			name:     "relative glob",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: revit\n    match:\n      path: [Revit */Revit.exe]\n"},
			wantFile: "config.yaml", wantLine: 5,
			wantMsg: `products[0].match.path[0]: "Revit */Revit.exe" is not a full path`,
		},
		{
			name:     "recursive glob",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: revit\n    match:\n      path: [\"C:/Program Files/**/Revit.exe\"]\n"},
			wantFile: "config.yaml", wantLine: 5,
			wantMsg: "** is not supported",
		},
		{
			name:     "full path as exe",
			files:    map[string]string{"config.yaml": "entitlement_file: e.json\nproducts:\n  - id: revit\n    match:\n      exe: ['C:\\Revit\\Revit.exe']\n"},
			wantFile: "config.yaml", wantLine: 5,
			wantMsg: "exe takes file names only",
		},
		{
			name:     "template without {user}",
			files:    map[string]string{"config.yaml": base + "identity:\n  template: \"{domain}@studio.example\"\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: `identity.template: "{domain}@studio.example" has no {user}`,
		},
		{
			name:     "template with an unknown placeholder",
			files:    map[string]string{"config.yaml": base + "identity:\n  template: \"{user}.{surname}@studio.example\"\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "identity.template: unknown placeholder {surname}",
		},
		{
			name:     "table key twice, in different case",
			files:    map[string]string{"config.yaml": base + "identity:\n  table:\n    \"STUDIO\\\\mary\": mary@studio.example\n    studio\\Mary: m@studio.example\n"},
			wantFile: "config.yaml", wantLine: 9,
			wantMsg: "listed twice in this file (also on line 8; names ignore case)",
		},
		{
			name:     "ledger and entitlement file both",
			files:    map[string]string{"config.yaml": base + "ledger:\n  url: https://ledger.studio.example:8443\n"},
			wantFile: "config.yaml", wantLine: 2,
			wantMsg: "entitlement_file: set either ledger.url or entitlement_file, not both",
		},
		{
			name:     "neither ledger nor entitlement file",
			files:    map[string]string{"config.yaml": "admin_contact: IT\nproducts: []\n"},
			wantFile: "config.yaml", wantLine: 0,
			wantMsg: "ledger.url: is not set",
		},
		{
			name:     "plain http to another machine",
			files:    map[string]string{"config.yaml": "ledger:\n  url: http://ledger.studio.example\n"},
			wantFile: "config.yaml", wantLine: 2,
			wantMsg: "use https; plain http is only for a ledger on this machine",
		},
		{
			name:     "credentials in the ledger URL",
			files:    map[string]string{"config.yaml": "ledger:\n  url: https://agent:secret@ledger.studio.example\n"},
			wantFile: "config.yaml", wantLine: 2,
			wantMsg: "ledger.url: must not hold a user or password",
		},
		{
			name:     "half-written JSON drop-in",
			files:    map[string]string{"config.yaml": base, "conf.d/20-rhino.json": `{"products": [{"id": "rhino", "match": {"exe": ["Rhi`},
			wantFile: "conf.d/20-rhino.json", wantLine: 1,
			wantMsg: "was it cut off mid-write?",
		},
		{
			name:     "half-written YAML drop-in",
			files:    map[string]string{"config.yaml": base, "conf.d/20-rhino.yaml": "products:\n  - id: rhino\n    name: Rhi"},
			wantFile: "conf.d/20-rhino.yaml", wantLine: 2,
			wantMsg: "products[0].match: give match.exe or match.path",
		},
		{
			name:     "file padded with NULs after a crash",
			files:    map[string]string{"config.yaml": base + "\x00\x00\x00\x00"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: "NUL bytes: it looks cut off or corrupted",
		},
		{
			name:     "empty main file",
			files:    map[string]string{"config.yaml": ""},
			wantFile: "config.yaml", wantLine: 0,
			wantMsg: "the file is empty",
		},
		{
			name:     "empty drop-in",
			files:    map[string]string{"config.yaml": base, "conf.d/50-push.yaml": "\n"},
			wantFile: "conf.d/50-push.yaml", wantLine: 0,
			wantMsg: "the file is empty",
		},
		{
			name:     "comments only",
			files:    map[string]string{"config.yaml": base, "conf.d/50-push.yaml": "# products: []\n"},
			wantFile: "conf.d/50-push.yaml", wantLine: 0,
			wantMsg: "only comments and blank lines",
		},
		{
			name:     "two documents",
			files:    map[string]string{"config.yaml": base + "---\nadmin_contact: x\n"},
			wantFile: "config.yaml", wantLine: 6,
			wantMsg: "a second YAML document starts here",
		},
		{
			name:     "not UTF-8",
			files:    map[string]string{"config.yaml": base + "log:\n  file: Soci\xe9t\xe9.log\n"},
			wantFile: "config.yaml", wantLine: 7,
			wantMsg: "byte 0xE9 is not UTF-8",
		},
		{
			name:     "a list, not settings",
			files:    map[string]string{"config.yaml": "- revit\n- rhino\n"},
			wantFile: "config.yaml", wantLine: 1,
			wantMsg: "the file must hold settings as name: value lines, got a list",
		},
		{
			name:     "missing main file",
			files:    map[string]string{"conf.d/10-x.yaml": base},
			wantFile: "config.yaml", wantLine: 0,
			wantMsg: "does not exist",
		},
		{
			name:     "conf.d is a file",
			files:    map[string]string{"config.yaml": base, "conf.d": base},
			wantFile: "conf.d", wantLine: 0,
			wantMsg: "cannot list drop-ins",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			c, err := Load(filepath.Join(dir, "config.yaml"))
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load error %v (%T), want an *Error", err, err)
			}
			wantFile := filepath.Join(dir, filepath.FromSlash(tt.wantFile))
			if e.File != wantFile || e.Line != tt.wantLine || !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("Load error:\n got %s:%d: %s\nwant %s:%d: ...%s...", e.File, e.Line, e.Msg, wantFile, tt.wantLine, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), e.Error()) {
				t.Errorf("Load error text %q does not hold %q", err, e)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"config.yaml":      base + "policy:\n  close_after: soon\n  poll_interval: 1ms\n",
		"conf.d/10-x.yaml": "log:\n  level: loud\n",
	})
	_, err := Load(filepath.Join(dir, "config.yaml"))
	if err == nil {
		t.Fatal("Load succeeded, want errors")
	}
	// Decode problems are reported together; validation waits for clean files, so
	// that a broken file does not also show up as missing settings.
	got := err.Error()
	for _, want := range []string{"config.yaml:7: policy.close_after", "conf.d/10-x.yaml:2: log.level"} {
		if !strings.Contains(got, want) {
			t.Errorf("Load error:\n%s\nwant it to hold %q", got, want)
		}
	}
	if strings.Index(got, "config.yaml:7") > strings.Index(got, "10-x.yaml:2") {
		t.Errorf("Load error:\n%s\nwant the main file's problems first", got)
	}
}

func TestIgnoredNames(t *testing.T) {
	const broken = "products: [{{{\n"
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"config.yaml":              base,
		"conf.d/.10-push.yaml":     broken, // hidden temp file of a push tool
		"conf.d/10-push.yaml~":     broken, // editor backup
		"conf.d/.10-push.yaml.swp": broken, // vim swap
		"conf.d/10-push.yaml.swp":  broken,
		"conf.d/10-push.yaml.tmp":  broken,
		"conf.d/~10-push.yaml":     broken,
		"conf.d/#10-push.yaml#":    broken, // emacs autosave
		"conf.d/README.txt":        broken,
		"conf.d/10-push.yaml.bak":  broken,
		"conf.d/20-real.yml":       "admin_contact: from drop-in\n",
		"conf.d/sub.yaml/x.yaml":   broken, // a folder with a config-like name
		"config.yaml.tmp":          broken, // beside the main file
	})
	c, err := Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{filepath.Join(dir, "config.yaml"), filepath.Join(dir, "conf.d", "20-real.yml")}
	if got := c.Files(); !reflect.DeepEqual(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
	if c.AdminContact != "from drop-in" {
		t.Errorf("AdminContact = %q, want %q", c.AdminContact, "from drop-in")
	}
}

func TestLayering(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"config.yaml": `admin_contact: IT main
entitlement_file: entitlement.json
identity:
  template: "{user}@studio.example"
  table:
    "STUDIO\\mary": mary@studio.example
    bob: bob@studio.example
products:
  - id: revit
    name: Revit
    match: {exe: [Revit.exe]}
  - id: rhino
    match: {exe: [Rhino.exe]}
policy:
  close_after: 10m
  grace_notice: true
log:
  level: info
`,
		"conf.d/05-close.yml": "policy: {close_after: 5m}\n",
		"conf.d/10-site.yaml": `admin_contact: IT site
products:
  - id: rhino
    name: Rhino 8
    match: {exe: [Rhino8.exe]}
  - id: sketchup
    match: {exe: [SketchUp.exe]}
identity:
  table:
    studio\MARY: m.smith@studio.example
policy:
  grace_notice: false
`,
		"conf.d/20-debug.json": `{"admin_contact": "IT json", "log": {"level": "debug"},
 "products": [{"id": "autocad", "match": {"exe": ["acad.exe"]}}]}`,
	})
	c, err := Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := c.Files(), []string{
		filepath.Join(dir, "config.yaml"),
		filepath.Join(dir, "conf.d", "05-close.yml"),
		filepath.Join(dir, "conf.d", "10-site.yaml"),
		filepath.Join(dir, "conf.d", "20-debug.json"),
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
	var ids, names, exes []string
	for _, p := range c.Products {
		ids, names, exes = append(ids, p.ID), append(names, p.Name), append(exes, p.Match.Exe...)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"admin_contact (last file that sets it wins)", c.AdminContact, "IT json"},
		{"product ids (same id replaces in place, new ids append)", ids, []string{"revit", "rhino", "sketchup", "autocad"}},
		{"product names (name defaults to id)", names, []string{"Revit", "Rhino 8", "sketchup", "autocad"}},
		{"product exes (a replaced product is replaced whole)", exes, []string{"Revit.exe", "Rhino8.exe", "SketchUp.exe", "acad.exe"}},
		{"identity.table (merged by key, ignoring case)", c.Identity.Table, map[string]string{`studio\mary`: "m.smith@studio.example", "bob": "bob@studio.example"}},
		{"identity.template (untouched by drop-ins)", c.Identity.Template, "{user}@studio.example"},
		{"policy.close_after (a drop-in overrides the main file)", c.Policy.CloseAfter, 5 * time.Minute},
		{"policy.grace_notice (an explicit false overrides)", c.Policy.GraceNotice, false},
		{"policy.offline_max_age (default)", c.Policy.OfflineMaxAge, 24 * time.Hour},
		{"policy.renewal_when_empty (default)", c.Policy.RenewalWhenEmpty, RenewalOverdraw},
		{"policy.poll_interval (default)", c.Policy.PollInterval, 500 * time.Millisecond},
		{"log.level", c.Log.Level, "debug"},
		{"log.max_size_mb (default)", c.Log.MaxSizeMB, 20},
		{"entitlement_file (relative to the main file's folder)", c.EntitlementFile, filepath.Join(dir, "entitlement.json")},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %q, want none", w)
	}
}

func TestWarnings(t *testing.T) {
	c, err := Parse("/etc/tollgate/config.yaml", []byte("entitlement_file: e.json\nledger:\n  ca_file: ca.pem\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{
		"config.yaml: admin_contact: is empty",
		"config.yaml: products: there are no products",
		"config.yaml:2: ledger: enrollment_token_file and ca_file do nothing without ledger.url",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Warnings():\n%s\nwant one holding %q", got, want)
		}
	}
}

func TestExampleLoads(t *testing.T) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"config.yaml": string(example)})
	c, err := Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatalf("Load(example.yaml): %v", err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("example.yaml warnings: %q, want none", w)
	}
	var ids []string
	for _, p := range c.Products {
		ids = append(ids, p.ID)
	}
	if want := []string{"revit", "civil3d", "autocad", "rhino", "sketchup"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("example.yaml products = %q, want %q", ids, want)
	}
	// Every field of the schema is shown in the example.
	if !reflect.DeepEqual(c.Policy, Policy{OfflineMaxAge: 24 * time.Hour, RenewalWhenEmpty: RenewalOverdraw, CloseAfter: 15 * time.Minute, PollInterval: 500 * time.Millisecond, GraceNotice: true,
		RenewalWhenIdle: IdleRenew, IdleAfter: 2 * time.Hour}) {
		t.Errorf("example.yaml policy = %+v, want the defaults spelled out", c.Policy)
	}
	processes := []struct {
		exe  string
		args []string
		goos string
		want string
	}{
		{`C:\Program Files\Autodesk\Revit 2025\Revit.exe`, nil, "windows", "revit"},
		{`C:\Program Files\Autodesk\AutoCAD 2024\acad.exe`, []string{"/ld", `C:\Program Files\Autodesk\AutoCAD 2024\AecBase.dbx`, "/p", "<<C3D_Metric>>", "/product", "C3D"}, "windows", "civil3d"},
		{`C:\Program Files\Autodesk\AutoCAD 2024\acad.exe`, []string{"/product", "ACAD"}, "windows", "autocad"},
		{"/Applications/Autodesk/AutoCAD 2025/AutoCAD 2025.app/Contents/MacOS/AutoCAD", nil, "darwin", "autocad"},
		{"/Applications/Rhino 8.app/Contents/MacOS/Rhinoceros", nil, "darwin", "rhino"},
		{`c:\program files\sketchup\sketchup 2024\SketchUp.exe`, nil, "windows", "sketchup"},
		{"/Applications/SketchUp 2024/SketchUp.app/Contents/MacOS/SketchUp", nil, "darwin", "sketchup"},
		{`C:\Windows\notepad.exe`, nil, "windows", ""},
	}
	for _, p := range processes {
		got, _ := c.Match(p.exe, p.args, p.goos)
		if got.ID != p.want {
			t.Errorf("example.yaml Match(%q, %q, %s) = %q, want %q", p.exe, p.args, p.goos, got.ID, p.want)
		}
	}
}

func TestParseUTF16(t *testing.T) {
	// Windows PowerShell 5's Out-File writes UTF-16LE with a BOM.
	text := "admin_contact: Société IT\r\nentitlement_file: e.json\r\n"
	data := []byte{0xFF, 0xFE}
	for _, r := range text {
		data = append(data, byte(r), byte(r>>8))
	}
	c, err := Parse("/etc/tollgate/config.yaml", data)
	if err != nil {
		t.Fatalf("Parse(UTF-16LE): %v", err)
	}
	if c.AdminContact != "Société IT" {
		t.Errorf("AdminContact = %q, want %q", c.AdminContact, "Société IT")
	}
}
