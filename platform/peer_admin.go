package platform

import (
	"path/filepath"
	"slices"
	"strings"
)

// darwinAdminGID is the gid of macOS's "admin" group, the users that System Settings lists as
// administrators; it is fixed across macOS releases.
const darwinAdminGID = 80

// memberChecker answers whether an account belongs to a group as the OS's directory resolves
// it: nested groups and directory (LDAP, Active Directory) groups included, which the kernel's
// short list of a process's groups may lack.
type memberChecker interface {
	IsMember(user, group string) (bool, error)
}

// peerIsAdmin decides whether a caller administers the machine: root; or adminGID among the
// groups the kernel recorded for its socket; or, failing those, the directory's word that
// user belongs to adminGroup. A caller without an account name is not looked up, and a
// directory that cannot answer makes no one an administrator.
func peerIsAdmin(uid int, user string, groups []uint32, adminGID uint32, adminGroup string, dir memberChecker) bool {
	if uid == 0 || slices.Contains(groups, adminGID) {
		return true
	}
	if user == "" || dir == nil {
		return false
	}
	ok, err := dir.IsMember(user, adminGroup)
	return err == nil && ok
}

// dseditgroupMember reads `dseditgroup -o checkmember -m USER GROUP`: it prints "yes USER is
// a member of GROUP" and exits 0 for a member, "no USER is NOT a member of GROUP" and exits
// 67 for anyone else, and exits otherwise (64 for an unknown user) when it cannot tell.
func dseditgroupMember(out string, exit int) (member, known bool) {
	out = strings.TrimSpace(out)
	switch {
	case exit == 0 && strings.HasPrefix(out, "yes "):
		return true, true
	case exit == 67 || strings.HasPrefix(out, "no "):
		return false, true
	}
	return false, false
}

// dsConfigurations is where macOS keeps a Mac's directory bindings, one plist per bound
// directory, under Active Directory/ and LDAPv3/.
const dsConfigurations = "Library/Preferences/OpenDirectory/Configurations"

// dsBound reports whether the Mac whose file system starts at root is bound to a directory
// (Active Directory or LDAP). Only then can admin come from a group that the socket's
// credential lacks, and only then is a lookup, which costs a process and may wait on the
// network, worth making for every caller who is not plainly an admin.
func dsBound(root string) bool {
	for _, kind := range []string{"Active Directory", "LDAPv3"} {
		if m, _ := filepath.Glob(filepath.Join(root, dsConfigurations, kind, "*.plist")); len(m) > 0 {
			return true
		}
	}
	return false
}
