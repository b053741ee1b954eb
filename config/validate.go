package config

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// minPollInterval keeps a typo (5ms for 5s) from costing CPU on every workstation.
const minPollInterval = 50 * time.Millisecond

// Upper bounds on the policy's durations: a typo (24000h for 24h) must not keep a
// device deciding offline past what the ledger still takes, or keep a product open
// unpaid for days.
const (
	maxOfflineMaxAge = 400 * 24 * time.Hour // the ledger's bound on an event's age (store.MaxAge)
	maxCloseAfter    = 24 * time.Hour
	// minIdleAfter keeps a typo (2m for 2h) from closing products at every coffee break.
	minIdleAfter = 15 * time.Minute
	maxIdleAfter = 24 * time.Hour
)

// checker reports problems of the merged configuration at the line that set the value
// in question, or, for a value nobody set, against the main file.
type checker struct {
	origin map[string]pos
	main   string
	errs   []*Error
	warns  []string
}

// locate finds where key, or the nearest enclosing setting, was set.
func (k *checker) locate(key string) (file string, line int, path string) {
	for rest, suffix := key, ""; ; {
		if at, ok := k.origin[rest]; ok && rest != "" {
			return at.file, at.line, at.path + suffix
		}
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			return k.main, 0, key
		}
		rest, suffix = rest[:i], rest[i:]+suffix
	}
}

func (k *checker) errorf(key, format string, args ...any) {
	file, line, path := k.locate(key)
	k.errs = append(k.errs, &Error{File: file, Line: line, Msg: path + ": " + fmt.Sprintf(format, args...)})
}

func (k *checker) warnf(key, format string, args ...any) {
	file, line, path := k.locate(key)
	e := &Error{File: file, Line: line, Msg: path + ": " + fmt.Sprintf(format, args...)}
	k.warns = append(k.warns, e.Error())
}

// finish fills in what the files left to be derived and checks the whole. Relative paths
// are resolved against the main file's folder. After a file failed to decode (partial),
// it checks only the values that were read, not what is missing: the missing setting is
// most likely in the broken file.
func (d *decoder) finish(main string, partial bool) []*Error {
	c := d.cfg
	k := &checker{origin: d.origin, main: main}
	base := filepath.Dir(main)
	for _, p := range []*string{&c.Ledger.EnrollmentTokenFile, &c.Ledger.CAFile, &c.EntitlementFile, &c.Log.File} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}

	if strings.TrimSpace(c.AdminContact) == "" {
		k.warnf("admin_contact", "is empty: users whose launch is denied will not be told whom to contact")
	}
	checkLedger(k, c, partial)
	checkIdentity(k, c.Identity)
	if len(c.Products) == 0 {
		k.warnf("products", "there are no products: no process will be metered or gated")
	}
	checkPolicy(k, c.Policy)
	checkLog(k, c.Log)
	c.warnings = k.warns
	return k.errs
}

func checkLedger(k *checker, c *Config, partial bool) {
	l := c.Ledger
	switch {
	case partial:
	case l.URL != "" && c.EntitlementFile != "":
		k.errorf("entitlement_file", "set either ledger.url or entitlement_file, not both: an entitlement file replaces the ledger (for tests and demos)")
	case l.URL == "" && c.EntitlementFile == "":
		k.errorf("ledger.url", "is not set: set ledger.url to the central ledger (or, for tests and demos, entitlement_file to a snapshot)")
	case l.URL == "" && (l.EnrollmentTokenFile != "" || l.CAFile != ""):
		k.warnf("ledger", "enrollment_token_file and ca_file do nothing without ledger.url")
	}
	if l.URL == "" {
		return
	}
	u, err := url.Parse(l.URL)
	if err != nil {
		k.errorf("ledger.url", "%s is not a URL (%v): write it like https://ledger.studio.example:8443", quote(l.URL), unwrapURLError(err))
		return
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		k.errorf("ledger.url", "%s: want an https:// URL, like https://ledger.studio.example:8443", quote(l.URL))
	case u.Host == "" || u.Hostname() == "":
		k.errorf("ledger.url", "%s has no host: write it like https://ledger.studio.example:8443", quote(l.URL))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		// Charges and enrollment tokens would cross the network in clear text.
		k.errorf("ledger.url", "%s: use https; plain http is only for a ledger on this machine (localhost)", quote(l.URL))
	case u.User != nil:
		k.errorf("ledger.url", "must not hold a user or password: the agent authenticates with its enrollment token")
	case u.RawQuery != "" || u.Fragment != "":
		k.errorf("ledger.url", "%s: remove the ?query or #fragment; give the ledger's base URL", quote(l.URL))
	}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkIdentity(k *checker, id Identity) {
	t := id.Template
	if !strings.Contains(t, "{user}") {
		k.errorf("identity.template", "%s has no {user}: every account would become the same licensing user; write it like \"{user}@studio.example\"", quote(t))
	}
	for rest := t; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			k.errorf("identity.template", "%s has a { without a closing }", quote(t))
			break
		}
		if ph := rest[i : i+j+1]; ph != "{user}" && ph != "{domain}" {
			k.errorf("identity.template", "unknown placeholder %s: use {user} and {domain}", ph)
		}
		rest = rest[i+j+1:]
	}
}

// checkProduct checks a product as soon as its file is decoded, since it depends on no
// other setting, and prepares its matcher.
func checkProduct(k *checker, p *Product) {
	key := "products." + p.ID
	if !validID(p.ID) {
		k.errorf(key+".id", "%s: use 1 to 64 lowercase letters, digits, '_' and '-', like revit", quote(p.ID))
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	m := p.Match
	if len(m.Exe) == 0 && len(m.Path) == 0 && len(m.Bundle) == 0 {
		k.errorf(key+".match", "give match.exe or match.path (or both), or for a Mac app match.bundle: without them the product matches nothing")
	}
	for i, b := range m.Bundle {
		if b == "" || strings.ContainsAny(b, " \t/\\") {
			k.errorf(fmt.Sprintf("%s.match.bundle[%d]", key, i), "%s is not a bundle identifier: write the app's CFBundleIdentifier, like com.autodesk.AutoCAD", quote(b))
		}
	}
	for i, e := range m.Exe {
		ekey := fmt.Sprintf("%s.match.exe[%d]", key, i)
		switch {
		case strings.TrimSpace(e) == "":
			k.errorf(ekey, "is empty: write an executable's file name, like Revit.exe")
		case strings.ContainsAny(e, `/\`):
			k.errorf(ekey, "%s: exe takes file names only, like Revit.exe; put full paths in match.path", quote(e))
		}
	}
	for i, g := range m.Path {
		gkey := fmt.Sprintf("%s.match.path[%d]", key, i)
		norm := strings.ReplaceAll(g, `\`, "/")
		switch {
		case !absGlob(norm):
			k.errorf(gkey, "%s is not a full path: start it with / or a drive, like C:/Program Files/...", quote(g))
		case strings.Contains(norm, "**"):
			k.errorf(gkey, "%s: ** is not supported; * matches any name within one folder", quote(g))
		default:
			if _, err := path.Match(norm, ""); err != nil {
				k.errorf(gkey, "%s is not a valid pattern (an unclosed [ ?); to match a literal [ write [[]", quote(g))
			}
		}
	}
	if m.Args != "" {
		if _, err := regexp.Compile(m.Args); err != nil {
			k.errorf(key+".match.args", "%s is not a valid regular expression: %v", quote(m.Args), err)
		}
	}
	p.m = compile(m)
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// absGlob tells a pattern that can match a full path: /... or a drive letter.
func absGlob(g string) bool {
	if strings.HasPrefix(g, "/") {
		return true
	}
	return len(g) >= 3 && g[1] == ':' && g[2] == '/' &&
		(g[0] >= 'a' && g[0] <= 'z' || g[0] >= 'A' && g[0] <= 'Z')
}

func checkPolicy(k *checker, p Policy) {
	if p.OfflineMaxAge < 0 {
		k.errorf("policy.offline_max_age", "%s is negative: write how long the agent may decide offline, like 24h (0: never)", p.OfflineMaxAge)
	}
	if p.OfflineMaxAge > maxOfflineMaxAge {
		k.errorf("policy.offline_max_age", "%s is over %s (400 days): the ledger refuses charges older than that, so they would be lost; write at most 9600h", p.OfflineMaxAge, maxOfflineMaxAge)
	}
	if p.CloseAfter > maxCloseAfter {
		k.errorf("policy.close_after", "%s is over %s: a product left open that long past its window would run a whole unpaid day; write at most 24h", p.CloseAfter, maxCloseAfter)
	}
	if p.RenewalWhenEmpty != RenewalOverdraw && p.RenewalWhenEmpty != RenewalClose {
		k.errorf("policy.renewal_when_empty", "unknown value %s: use overdraw or close", quote(string(p.RenewalWhenEmpty)))
	}
	if p.CloseAfter < 0 {
		k.errorf("policy.close_after", "%s is negative: write how long users get to save before a product is closed, like 15m", p.CloseAfter)
	}
	if p.RenewalWhenIdle != IdleRenew && p.RenewalWhenIdle != IdleClose {
		k.errorf("policy.renewal_when_idle", "unknown value %s: use renew or close", quote(string(p.RenewalWhenIdle)))
	}
	if p.IdleAfter < minIdleAfter || p.IdleAfter > maxIdleAfter {
		k.errorf("policy.idle_after", "%s: write how long without input and CPU makes a product idle, from %s to %s, like 2h", p.IdleAfter, minIdleAfter, maxIdleAfter)
	}
	if _, err := time.Parse("15:04", p.NightlyClose); p.NightlyClose != "" && (err != nil || len(p.NightlyClose) != 5) {
		k.errorf("policy.nightly_close", "%s: write a time of day as HH:MM, like \"02:00\", or leave it out", quote(p.NightlyClose))
	}
	if p.PollInterval < minPollInterval {
		k.errorf("policy.poll_interval", "%s is below %s: scanning processes that often costs CPU on every workstation; the default is 500ms", p.PollInterval, minPollInterval)
	}
}

func checkLog(k *checker, l Log) {
	if _, ok := levelOf(l.Level); !ok {
		k.errorf("log.level", "unknown level %s: use debug, info, warn or error", quote(l.Level))
	}
	if l.MaxSizeMB < 1 {
		k.errorf("log.max_size_mb", "%d: want 1 or more (megabytes per log file)", l.MaxSizeMB)
	}
	if l.MaxBackups < 0 {
		k.errorf("log.max_backups", "%d is negative: want how many rotated files to keep, like 5", l.MaxBackups)
	}
}
