package config

import (
	"errors"
	"fmt"
	"strings"
)

// User maps an OS account to its licensing user: identity.table first (DOMAIN\name, then
// the bare name), then identity.template. osUser may carry its domain as DOMAIN\name, as
// Windows reports accounts; domain is "" where there is none (macOS, Linux).
func (c *Config) User(osUser, domain string) (string, error) {
	if domain == "" {
		if i := strings.LastIndexByte(osUser, '\\'); i >= 0 {
			domain, osUser = osUser[:i], osUser[i+1:]
		}
	}
	user := strings.ToLower(strings.TrimSpace(osUser))
	domain = strings.ToLower(strings.TrimSpace(domain))
	if user == "" {
		return "", errors.New("identity: the OS account has no name")
	}
	if domain != "" {
		if u, ok := c.Identity.Table[domain+`\`+user]; ok {
			return u, nil
		}
	}
	if u, ok := c.Identity.Table[user]; ok {
		return u, nil
	}
	t := c.Identity.Template
	if domain == "" && strings.Contains(t, "{domain}") {
		return "", fmt.Errorf("identity: account %q has no domain for {domain} in identity.template %q: add it to identity.table", user, t)
	}
	return strings.NewReplacer("{user}", user, "{domain}", domain).Replace(t), nil
}
