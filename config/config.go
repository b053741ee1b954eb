// Package config is the agent's configuration as IT pushes it to workstations: the schema,
// strict decoding with file:line errors, layering of drop-in files, validation, and a
// watcher that swaps in a new configuration only when a push is complete and valid.
//
// A configuration is one main file (usually /etc/tollgate/tollgate.yaml or
// C:\ProgramData\tollgate\tollgate.yaml) plus drop-ins in the conf.d folder beside it, read
// in lexical order. A drop-in overrides the settings it names; products merge by id and
// identity.table entries merge by key. See example.yaml in this package for a complete,
// commented configuration.
package config

import (
	"time"

	"go.uber.org/zap/zapcore"
)

// Config is one loaded, validated configuration. A *Config handed out by Load or a
// Watcher is shared between goroutines: treat it as read-only.
type Config struct {
	// AdminContact is shown to a user whose launch is denied, so that they know whom to ask,
	// e.g. "Studio IT, it@studio.example, ext. 200".
	AdminContact string `yaml:"admin_contact"`

	// Ledger is the central ledger the agent syncs charges with. Leave ledger.url out to
	// run without one (then entitlement_file must be set).
	Ledger Ledger `yaml:"ledger"`

	// EntitlementFile is a JSON or YAML entitlement snapshot used instead of a ledger, for
	// tests and demos. Exactly one of ledger.url and entitlement_file is set.
	EntitlementFile string `yaml:"entitlement_file"`

	// Identity maps OS accounts to licensing users.
	Identity Identity `yaml:"identity"`

	// Products is the catalogue's process rules: which processes are which product.
	// Rates live on the ledger, not here. When several products match a process, the
	// first in this list wins (main file order, then new ids from drop-ins in file order).
	Products []Product `yaml:"products"`

	// Policy tunes how the agent enforces the charging rules.
	Policy Policy `yaml:"policy"`

	// Log says where the agent logs and how much.
	Log Log `yaml:"log"`

	files    []string // main file first, then drop-ins in the order they were applied
	warnings []string
	digest   [32]byte // of every file's path and bytes, to tell a real change from a touch
}

// Ledger locates the central ledger.
type Ledger struct {
	// URL is the ledger's base URL, e.g. https://ledger.studio.example:8443. It must be
	// https, except http to a loopback address (a ledger on the same machine).
	URL string `yaml:"url"`

	// EnrollmentTokenFile holds the one-time token the agent enrolls with.
	EnrollmentTokenFile string `yaml:"enrollment_token_file"`

	// CAFile is a PEM file of extra CAs to trust for the ledger's TLS certificate, for a
	// ledger behind a private CA. Empty means the system's roots only.
	CAFile string `yaml:"ca_file"`
}

// Identity maps an OS account to a licensing user: Table first, then Template.
type Identity struct {
	// Template builds the licensing user from the account: {user} is the account name and
	// {domain} the Windows domain (empty elsewhere), both lowercased. Default "{user}".
	Template string `yaml:"template"`

	// Table holds exact overrides, checked before Template. A key is an account name
	// ("mary") or a Windows DOMAIN\name ("STUDIO\\mary" in YAML double quotes); keys are
	// compared case-insensitively and are stored lowercased. A key without a domain
	// matches that account name on any domain.
	Table map[string]string `yaml:"table"`
}

// Product is one catalogue entry's process rules.
type Product struct {
	// ID is the product's key on the ledger: lowercase letters, digits, '_' and '-'.
	ID string `yaml:"id"`

	// Name is what users see, e.g. "Autodesk Revit". Default: the id.
	Name string `yaml:"name"`

	// Match recognises the product's processes.
	Match Match `yaml:"match"`

	m *matcher // compiled from Match when the config is loaded
}

// Match says which processes belong to a product. Every criterion that is given must
// hold; at least one of Exe and Path must be given.
type Match struct {
	// Exe lists executable base names, e.g. ["Revit.exe"]. Compared case-insensitively
	// on Windows only.
	Exe []string `yaml:"exe"`

	// Path lists globs over the executable's full path, e.g.
	// "C:/Program Files/Autodesk/Revit */Revit.exe". Write '/' as the separator ('\' is
	// read as '/'); '*' matches within one folder, '?' one character and [...] a class,
	// as Go's path.Match does; "**" is not supported. Case-insensitive on Windows only.
	Path []string `yaml:"path"`

	// Args is a regular expression (Go RE2 syntax) that the process's arguments, without
	// the program itself and joined with single spaces, must match somewhere. Anchor it
	// with ^ and $ to match the whole line; prefix (?i) to ignore case.
	Args string `yaml:"args"`

	// Bundle lists macOS bundle identifiers (CFBundleIdentifier in the app's Info.plist),
	// e.g. "com.autodesk.AutoCAD". A process whose executable lies in an app bundle with one
	// of them (its innermost "X.app/Contents/MacOS/") matches wherever the app is: in
	// ~/Applications, on a mounted disk image under /Volumes, or moved by App Translocation,
	// where Path globs miss it. With Path too, either one places the process; Exe and Args
	// still hold. Compared ignoring case.
	Bundle []string `yaml:"bundle"`
}

// Renewal is what happens when a window ends and the team's pool is empty.
type Renewal string

const (
	// RenewalOverdraw charges anyway: the balance goes negative, admins are alerted and
	// the user is warned.
	RenewalOverdraw Renewal = "overdraw"
	// RenewalClose warns the user, then closes the product after close_after.
	RenewalClose Renewal = "close"
)

// WhenIdle is what happens when a window ends on a product nobody is using.
type WhenIdle string

const (
	// IdleRenew renews it as any other (the default).
	IdleRenew WhenIdle = "renew"
	// IdleClose warns its user 15 minutes before, then asks it to close at the renewal.
	IdleClose WhenIdle = "close"
)

// Policy tunes how the agent enforces the charging rules (see charging.md).
type Policy struct {
	// OfflineMaxAge is how old the last entitlement snapshot may be before new charged
	// launches are denied (offline_too_long). Default 24h; 0 means never offline.
	OfflineMaxAge time.Duration `yaml:"offline_max_age"`

	// RenewalWhenEmpty is "overdraw" (default) or "close".
	RenewalWhenEmpty Renewal `yaml:"renewal_when_empty"`

	// CloseAfter is how long a user has to save and quit before a product is closed under
	// renewal_when_empty: close. Default 15m.
	CloseAfter time.Duration `yaml:"close_after"`

	// PollInterval is how often the process list is scanned. Default 500ms, at least 50ms.
	PollInterval time.Duration `yaml:"poll_interval"`

	// GraceNotice tells the user when a session starts in grace, i.e. that the product
	// will be charged once it has been used for 5 minutes. Default true.
	GraceNotice bool `yaml:"grace_notice"`

	// RenewalWhenIdle is "renew" (default) or "close": whether a product nobody used for
	// IdleAfter (no input in the user's session, its processes almost no CPU) is renewed
	// or asked to close when its window ends.
	RenewalWhenIdle WhenIdle `yaml:"renewal_when_idle"`

	// IdleAfter is how long without input and CPU makes a product idle. Default 2h.
	IdleAfter time.Duration `yaml:"idle_after"`

	// NightlyClose, "HH:MM" in the workstation's time zone, also closes the products idle
	// at that time every night (warned 15 minutes before), whatever RenewalWhenIdle says.
	// Empty: off.
	NightlyClose string `yaml:"nightly_close"`
}

// Log says where the agent logs and how much.
type Log struct {
	// Level is debug, info (default), warn or error. A push that changes it takes effect
	// at once.
	Level string `yaml:"level"`

	// File is the log file, rotated by size. Empty means standard error. A change takes
	// effect when the agent restarts.
	File string `yaml:"file"`

	// MaxSizeMB is the size in megabytes at which the file is rotated. Default 20.
	MaxSizeMB int `yaml:"max_size_mb"`

	// MaxBackups is how many rotated files are kept. Default 5.
	MaxBackups int `yaml:"max_backups"`
}

// Defaults is the configuration before any file is applied.
func Defaults() *Config {
	return &Config{
		Identity: Identity{Template: "{user}"},
		Policy: Policy{
			OfflineMaxAge:    24 * time.Hour,
			RenewalWhenEmpty: RenewalOverdraw,
			CloseAfter:       15 * time.Minute,
			PollInterval:     500 * time.Millisecond,
			GraceNotice:      true,
			RenewalWhenIdle:  IdleRenew,
			IdleAfter:        2 * time.Hour,
		},
		Log: Log{Level: "info", MaxSizeMB: 20, MaxBackups: 5},
	}
}

// Files lists the files the configuration was loaded from: the main file first, then the
// drop-ins in the order they were applied.
func (c *Config) Files() []string { return append([]string(nil), c.files...) }

// Warnings lists what is legal but probably not what IT meant, e.g. an empty catalogue.
func (c *Config) Warnings() []string { return append([]string(nil), c.warnings...) }

// Product returns the product with the given id.
func (c *Config) Product(id string) (Product, bool) {
	for _, p := range c.Products {
		if p.ID == id {
			return p, true
		}
	}
	return Product{}, false
}

// Match returns the first product whose rules match the process; see Product.Matches.
func (c *Config) Match(exe string, args []string, goos string) (Product, bool) {
	proc := newProcess(exe, args, goos)
	for _, p := range c.Products {
		if p.matcher().matches(&proc) {
			return p, true
		}
	}
	return Product{}, false
}

// levelOf maps the four levels IT may choose to zap's; zap knows more (dpanic, fatal)
// that make no sense in a config.
func levelOf(s string) (zapcore.Level, bool) {
	switch s {
	case "debug":
		return zapcore.DebugLevel, true
	case "info":
		return zapcore.InfoLevel, true
	case "warn":
		return zapcore.WarnLevel, true
	case "error":
		return zapcore.ErrorLevel, true
	}
	return zapcore.InfoLevel, false
}

// ZapLevel is Level as a zap level; info when Level is empty or unknown.
func (l Log) ZapLevel() zapcore.Level {
	lvl, _ := levelOf(l.Level)
	return lvl
}
