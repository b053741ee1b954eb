package config

import (
	"strings"
	"testing"
)

func TestUser(t *testing.T) {
	c, err := Parse("/etc/tollgate/config.yaml", []byte(`entitlement_file: e.json
identity:
  template: "{user}@studio.example"
  table:
    "STUDIO\\mary": mary@studio.example
    "OLDCORP\\mary": mary.old@studio.example
    render01: render-farm@studio.example
`))
	if err != nil {
		t.Fatal(err)
	}
	withDomain, err := Parse("/etc/tollgate/config.yaml", []byte("entitlement_file: e.json\nidentity:\n  template: \"{domain}.{user}@studio.example\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		c               *Config
		osUser, domain  string
		want, wantError string
	}{
		{"template, lowercased", c, "JSmith", "", "jsmith@studio.example", ""},
		{"table by domain and name", c, "Mary", "STUDIO", "mary@studio.example", ""},
		{"table by DOMAIN\\name in the account", c, `studio\MARY`, "", "mary@studio.example", ""},
		{"table picks the domain", c, "mary", "oldcorp", "mary.old@studio.example", ""},
		{"no table entry for this domain: template", c, "mary", "OTHER", "mary@studio.example", ""},
		{"table by bare name on any domain", c, "RENDER01", "STUDIO", "render-farm@studio.example", ""},
		{"table by bare name without domain", c, "render01", "", "render-farm@studio.example", ""},
		{"domain placeholder", withDomain, "Bob", "STUDIO", "studio.bob@studio.example", ""},
		{"domain placeholder without a domain", withDomain, "bob", "", "", `account "bob" has no domain for {domain}`},
		{"empty account", c, " ", "", "", "the OS account has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.User(tt.osUser, tt.domain)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Errorf("User(%q, %q) = %q, %v, want error %q", tt.osUser, tt.domain, got, err, tt.wantError)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("User(%q, %q) = %q, %v, want %q", tt.osUser, tt.domain, got, err, tt.want)
			}
		})
	}
}
