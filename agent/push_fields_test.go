//go:build linux

package agent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/config"
	"tollgate/ledger/ledgertest"
)

// More fields of config/example.yaml pushed to a running agent, each shown taking effect
// without a restart (rebuild_test.go has products, poll_interval, identity.template,
// ledger.url and the race; push_test.go admin_contact). TestEveryConfigFieldAccounted
// holds the list complete.

// pushed waits until the agent has taken the push whose drop-ins are files long, with no
// refusal: the push is then in force for every launch decided after.
func pushed(t *testing.T, r *agenttest.Rig, files int) localapi.Status {
	t.Helper()
	return r.WaitFor("the push in force", func(st localapi.Status) bool { return len(st.Config.Files) == files && st.Config.Err == "" })
}

func check(t *testing.T, r *agenttest.Rig, product string) localapi.CheckResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := r.Client.Check(ctx, product, "")
	if err != nil {
		t.Fatalf("check %s: %v", product, err)
	}
	return res
}

// identity.table: an exception pushed for the account maps the next launch to it.
func TestPushIdentityTable(t *testing.T) {
	r := newRig(t, 100)
	writeSnapshot(t, r, 100, "", "render-farm@studio.example")
	r.Start()
	pushDropin(t, r, "50-table.yaml", "identity:\n  table:\n    root: render-farm@studio.example\n")
	pushed(t, r, 2)
	r.Launch("bin/revit")
	st := r.WaitFor("a session", func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	if s, _ := agenttest.SessionOf(st, "revit"); s.User != "render-farm@studio.example" {
		t.Errorf("got user %q, want render-farm@studio.example from the pushed table", s.User)
	}
}

// policy.grace_notice: turned off by a push, a launch into grace is no longer announced.
func TestPushGraceNotice(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	r.Launch("bin/revit")
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	if _, ok := agenttest.MessageOf(st, "grace"); !ok {
		t.Fatalf("got messages %+v before the push, want the grace notice (the test shows nothing otherwise)", st.Messages)
	}
	pushDropin(t, r, "50-quiet.yaml", "policy:\n  grace_notice: false\n")
	pushed(t, r, 2)
	r.Launch("bin/acad")
	st = r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "autocad")
		return ok && s.State == charge.PhaseGrace
	})
	for _, m := range st.Messages {
		if m.Kind == localapi.KindGrace && m.Product == "autocad" {
			t.Errorf("got %q after grace_notice: false was pushed, want no grace notice", m.Title)
		}
	}
}

// policy.offline_max_age: shortened by a push, a snapshot older than it no longer decides
// a new charged launch.
func TestPushOfflineMaxAge(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	r.SetClock(day1.Add(2 * time.Hour))
	r.Settled(nil)
	if res := check(t, r, "revit"); !res.Allowed {
		t.Fatalf("got %s with a 2-hour-old snapshot and the default 24h, want allowed", res.Reason)
	}
	pushDropin(t, r, "50-offline.yaml", "policy:\n  offline_max_age: 1h\n")
	pushed(t, r, 2)
	if res := check(t, r, "revit"); res.Allowed || res.Reason != charge.OfflineTooLong {
		t.Errorf("got allowed %v, %s after offline_max_age: 1h was pushed, want denied %s", res.Allowed, res.Reason, charge.OfflineTooLong)
	}
}

// policy.renewal_when_empty and close_after: pushed to close after a minute, a product
// whose window ends on an empty pool is warned and closed instead of overdrawn.
func TestPushRenewalWhenEmpty(t *testing.T) {
	r := newRig(t, 10)
	r.Start()
	r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool { _, ok := agenttest.SessionOf(st, "revit"); return ok })
	r.SetClock(day1.Add(5 * time.Minute))
	r.Settled(func(st localapi.Status) bool {
		s, _ := agenttest.SessionOf(st, "revit")
		return s.State == charge.PhasePaid
	})
	// offline_max_age too, so that the day-old snapshot still decides the renewal.
	pushDropin(t, r, "50-close.yaml", "policy:\n  renewal_when_empty: close\n  close_after: 1m\n  offline_max_age: 72h\n")
	pushed(t, r, 2)
	end := day1.Add(charge.Day)
	r.SetClock(end.Add(time.Second))
	st := r.Settled(func(st localapi.Status) bool {
		s, _ := agenttest.SessionOf(st, "revit")
		return s.State == charge.PhaseClosing
	})
	if s, _ := agenttest.SessionOf(st, "revit"); !s.Running {
		t.Fatalf("got %+v at the window's end, want it running, warned, until close_after", s)
	}
	r.SetClock(end.Add(time.Minute + 2*time.Second))
	r.WaitFor("the product closed a minute later", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "revit"); return !ok || !s.Running })
	r.Stop()
	for _, f := range r.Charges() {
		if f.Renewal {
			t.Errorf("got renewal %+v, want none: the push said close, not overdraw", f)
		}
	}
}

// policy.renewal_when_idle and idle_after: pushed while Revit runs, its idle renewal is
// warned of at 07:45 and it is closed, not renewed, at 08:00.
func TestPushIdleRenewal(t *testing.T) {
	r := newRig(t, 100)
	paidUntilTuesday(t, r)
	pushDropin(t, r, "50-idle.yaml", "policy:\n  renewal_when_idle: close\n  idle_after: 2h\n")
	pushed(t, r, 2)
	warnedAt0745(t, r)
}

// policy.nightly_close: pushed while Revit runs, the idle product is announced 15 minutes
// before the pushed time.
func TestPushNightlyClose(t *testing.T) {
	t.Setenv("TZ", "UTC") // the workstation's time zone, which nightly_close is in
	r := newRig(t, 100)
	paidUntilTuesday(t, r)
	pushDropin(t, r, "50-nightly.yaml", "policy:\n  nightly_close: \"02:00\"\n")
	pushed(t, r, 2)
	night := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)
	report(t, r, night.Add(-16*time.Minute), home)
	r.SetClock(night.Add(-14 * time.Minute))
	st := r.Settled(func(st localapi.Status) bool { _, ok := agenttest.MessageOf(st, "idle_closing"); return ok })
	if m, _ := agenttest.MessageOf(st, "idle_closing"); m.Title != "Autodesk Revit will be closed at Tue 02:00" {
		t.Errorf("got %q, want the pushed nightly close announced", m.Title)
	}
}

// entitlement_file: pointed at another snapshot by a push, the agent decides from it.
func TestPushEntitlementFile(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	other := filepath.Join(r.Dir, "etc", "other-snapshot.yaml")
	agenttest.Write(t, other, strings.Replace(mustRead(t, r.Snap), "studio: 100", "studio: 3", 1))
	pushDropin(t, r, "50-snap.yaml", "entitlement_file: "+other+"\n")
	pushed(t, r, 2)
	if res := check(t, r, "revit"); res.Allowed || res.Reason != charge.InsufficientTokens || res.Available != 3 {
		t.Errorf("got allowed %v, %s, %d available; want denied %s with the pushed snapshot's 3", res.Allowed, res.Reason, res.Available, charge.InsufficientTokens)
	}
}

// log.level: raised to warn by a push, the agent's info lines stop; lowered back, they
// come again.
func TestPushLogLevel(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	applied := func() int { return strings.Count(mustRead(t, r.Log), "config applied") }
	pushDropin(t, r, "50-level.yaml", "log:\n  level: warn\nadmin_contact: \"Helpdesk, ext. 1\"\n")
	r.WaitFor("the quiet push", func(st localapi.Status) bool { return st.AdminContact == "Helpdesk, ext. 1" })
	before := applied()
	pushDropin(t, r, "50-level.yaml", "log:\n  level: warn\nadmin_contact: \"Helpdesk, ext. 2\"\n")
	r.WaitFor("a second quiet push", func(st localapi.Status) bool { return st.AdminContact == "Helpdesk, ext. 2" })
	pushDropin(t, r, "50-level.yaml", "log:\n  level: info\nadmin_contact: \"Helpdesk, ext. 3\"\n")
	r.WaitFor("the push back to info", func(st localapi.Status) bool { return st.AdminContact == "Helpdesk, ext. 3" })
	deadline := time.Now().Add(10 * time.Second)
	for applied() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// The log is written in order: the line of the info push is last, so the quiet push's
	// line, had it been written, would be counted too.
	if got := applied() - before; got != 1 {
		t.Errorf("got %d 'config applied' lines since the first push at warn, want 1 (the push back to info's):\n%s", got, r.LogTail())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestEveryConfigFieldAccounted: every field of the configuration (config/example.yaml
// documents each) is either shown taking effect on a push by a named test on the real
// agent, or waits for a restart, which status lists (TestPushNeedsRestart) and
// example.yaml marks. A field added to config.Config without either fails here.
func TestEveryConfigFieldAccounted(t *testing.T) {
	pushedBy := map[string]string{
		"admin_contact":                "TestConfigPush",
		"ledger.url":                   "TestPushLedgerURL",
		"ledger.enrollment_token_file": "TestPushLedgerURL",
		"ledger.ca_file":               "TestPushLedgerCAFile",
		"entitlement_file":             "TestPushEntitlementFile",
		"identity.template":            "TestPushIdentityTemplate",
		"identity.table":               "TestPushIdentityTable",
		"products.id":                  "TestPushNewProductByExeName",
		"products.name":                "TestPushNewPathGated",
		"products.match.exe":           "TestPushNewProductByExeName",
		"products.match.path":          "TestPushNewPathGated",
		"products.match.args":          "TestPushProductArgs",
		"policy.offline_max_age":       "TestPushOfflineMaxAge",
		"policy.renewal_when_empty":    "TestPushRenewalWhenEmpty",
		"policy.close_after":           "TestPushRenewalWhenEmpty",
		"policy.poll_interval":         "TestPushPollInterval",
		"policy.grace_notice":          "TestPushGraceNotice",
		"policy.renewal_when_idle":     "TestPushIdleRenewal",
		"policy.idle_after":            "TestPushIdleRenewal",
		"policy.nightly_close":         "TestPushNightlyClose",
		"log.level":                    "TestPushLogLevel",
	}
	// Taken on a push through the same rebuild as a field above, with no push test of
	// their own.
	samePath := map[string]string{
		"products.match.bundle": "the catalogue matcher, on macOS only",
	}
	// What status lists as waiting for a restart (TestPushNeedsRestart).
	restart := map[string]bool{"log.file": true, "log.max_size_mb": true, "log.max_backups": true}

	var sources strings.Builder
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		sources.WriteString(mustRead(t, f))
	}
	fields := configFields(reflect.TypeFor[config.Config](), "")
	if len(fields) < 20 {
		t.Fatalf("got fields %v, want every field of config.Config", fields)
	}
	for _, field := range fields {
		switch {
		case pushedBy[field] != "":
			if !strings.Contains(sources.String(), "func "+pushedBy[field]+"(") {
				t.Errorf("%s: got no test %s in package agent, want the push test it names", field, pushedBy[field])
			}
		case samePath[field] != "" || restart[field]:
		default:
			t.Errorf("%s: got a configuration field with no push test and not waiting for a restart; want one or the other", field)
		}
	}
}

// configFields lists the yaml paths of typ's fields, a list's items' fields under the
// list's name.
func configFields(typ reflect.Type, prefix string) []string {
	var out []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, configFields(ft, path+".")...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// Switching from an entitlement file to a ledger waits for a restart: status says so, and
// until then the agent decides from the file it started with.
func TestPushLedgerSwitchWaitsForRestart(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	tok := filepath.Join(r.Dir, "etc", "enroll.token")
	agenttest.Write(t, tok, "tge_never-used")
	pushDropin(t, r, "50-ledger.yaml", "entitlement_file: \"\"\nledger:\n  url: http://127.0.0.1:1\n  enrollment_token_file: "+tok+"\n")
	st := r.WaitFor("the restart list", func(st localapi.Status) bool { return len(st.Config.Restart) > 0 })
	if want := []string{"ledger.url", "entitlement_file"}; !slices.Equal(st.Config.Restart, want) || st.Config.Err != "" {
		t.Errorf("got %v waiting for a restart (error %q), want %v", st.Config.Restart, st.Config.Err, want)
	}
	if res := check(t, r, "revit"); !res.Allowed || res.Available != 100 {
		t.Errorf("got allowed %v, %d available; want the file's 100 still deciding until the restart", res.Allowed, res.Available)
	}
}

// ledger.ca_file: a ledger whose certificate this machine does not trust is refused on a
// push; pushed with ca_file naming its CA, the agent enrolls and sends its backlog there.
func TestPushLedgerCAFile(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testCA(t, dir)
	clock := agenttest.NewClock(t, dir)
	l1 := ledgertest.Start(t, bins.Tollgate, "", clock.Path)
	tok1 := l1.Studio(100, "root@studio.example")
	// The admin CLI that sets up the TLS ledger trusts its CA through the environment; the
	// agent, started after, does not: only ca_file can make it.
	t.Setenv("SSL_CERT_FILE", ca)
	l2 := ledgertest.StartWith(t, bins.Tollgate, "", clock.Path, "--tls-cert", cert, "--tls-key", key)
	tok2 := l2.Studio(100, "root@studio.example")
	os.Unsetenv("SSL_CERT_FILE")
	if !strings.HasPrefix(l2.URL, "https://") {
		t.Fatalf("got the second ledger at %s, want https", l2.URL)
	}

	r := newRig(t, 0, func(o *agenttest.Options) { o.LedgerURL, o.EnrollToken, o.Clock = l1.URL, tok1, clock })
	r.Start()
	r.WaitFor("enrolled with the first ledger", func(st localapi.Status) bool { return st.Ledger != nil && st.Ledger.Enrolled && st.Ledger.Online })
	r.Launch("bin/revit")
	r.WaitFor("revit in grace", func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == charge.PhaseGrace
	})
	l1.Kill()
	r.SetClock(day1.Add(6 * time.Minute))
	r.WaitFor("a charge waiting for the dead ledger", func(st localapi.Status) bool { return st.Backlog > 0 && !st.Ledger.Online })

	tok2File := filepath.Join(r.Dir, "etc", "enroll2.token")
	agenttest.Write(t, tok2File, tok2)
	pushDropin(t, r, "50-ledger.yaml", fmt.Sprintf("ledger:\n  url: %s\n  enrollment_token_file: %s\n", l2.URL, tok2File))
	st := r.WaitFor("the untrusted ledger refused", func(st localapi.Status) bool { return strings.Contains(st.Config.Err, "certificate") })
	if st.Ledger.URL != l1.URL || st.Backlog == 0 {
		t.Errorf("got ledger %q, backlog %d after a refused push, want the old one %q and the charge waiting", st.Ledger.URL, st.Backlog, l1.URL)
	}
	pushDropin(t, r, "50-ledger.yaml", fmt.Sprintf("ledger:\n  url: %s\n  enrollment_token_file: %s\n  ca_file: %s\n", l2.URL, tok2File, ca))
	r.WaitFor("the backlog sent to the TLS ledger", func(st localapi.Status) bool {
		return st.Config.Err == "" && st.Ledger.URL == l2.URL && st.Ledger.Online && st.Backlog == 0
	})
}

// testCA writes a CA and a certificate for 127.0.0.1 signed by it, as PEM files in dir.
func testCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tollgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ledger.pem"), filepath.Join(dir, "ledger.key")
	agenttest.Write(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	agenttest.Write(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	agenttest.Write(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return caFile, certFile, keyFile
}

// A push that maps the account to another licensing user reaches a notifier already
// connected: its stream ends, and on reconnecting (as the notifier does) it is told of the
// launches of the user it now is.
func TestPushIdentityReachesOpenStream(t *testing.T) {
	r := newRig(t, 100)
	writeSnapshot(t, r, 100, "", "root@paris.example")
	r.Start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan localapi.Message, 16)
	streams := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil { // the notifier's loop, without its backoff
			select {
			case streams <- struct{}{}:
			default:
			}
			r.Client.Events(ctx, func(m localapi.Message) {
				select {
				case got <- m:
				default:
				}
			})
			time.Sleep(50 * time.Millisecond)
		}
	}()
	defer func() { cancel(); <-done }()
	<-streams
	time.Sleep(200 * time.Millisecond) // subscribed
	pushDropin(t, r, "50-paris.yaml", "identity:\n  template: \"{user}@paris.example\"\n")
	pushed(t, r, 2)
	select {
	case <-streams:
	case <-time.After(10 * time.Second):
		t.Fatal("got the stream still open 10s after the push remapped its caller, want it ended so that the notifier reconnects as the new user")
	}
	time.Sleep(200 * time.Millisecond) // subscribed again
	r.Launch("bin/revit")
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m := <-got:
			if m.Kind == localapi.KindGrace && m.User == "root@paris.example" {
				return
			}
		case <-timeout:
			t.Fatalf("got no grace notice for root@paris.example on the stream within 15s of the push, want it")
		}
	}
}

// products.match.args: a product pushed with an arguments rule meters the program run with
// those arguments and not the same program run without them.
func TestPushProductArgs(t *testing.T) {
	r := newRig(t, 100)
	c3d := filepath.Join(r.Dir, "bin", "c3d")
	copyProduct(t, c3d)
	writeSnapshot(t, r, 100, ", civil3d: 9")
	r.Start()
	pushDropin(t, r, "50-c3d.yaml", fmt.Sprintf("products:\n  - id: civil3d\n    name: Autodesk Civil 3D\n    match:\n      path: [%q]\n      args: '(?i)/product \"?C3D'\n", filepath.ToSlash(c3d)))
	pushed(t, r, 2)
	start := func(args ...string) {
		p := exec.Command(c3d, args...)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	}
	start("/nologo")
	time.Sleep(300 * time.Millisecond) // a few scans
	if st := r.Settled(nil); len(st.Sessions) != 0 {
		t.Fatalf("got sessions %+v for the program without /product C3D, want none", st.Sessions)
	}
	start("/product", "C3D")
	r.WaitFor("civil3d metered", func(st localapi.Status) bool { s, ok := agenttest.SessionOf(st, "civil3d"); return ok && s.Procs == 1 })
}
