package platform

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// directory stands in for a Mac's directory service (opendirectoryd, bound to Active
// Directory or LDAP), which this machine does not have: who is in which group, nesting
// resolved.
type directory struct {
	members map[string][]string // group -> users
	err     error
	asked   int
}

func (d *directory) IsMember(user, group string) (bool, error) {
	d.asked++
	if d.err != nil {
		return false, d.err
	}
	for _, u := range d.members[group] {
		if u == user {
			return true, nil
		}
	}
	return false, nil
}

func TestPeerIsAdmin(t *testing.T) {
	// alice is an admin through the local admin group, which login puts in her groups;
	// carol through "Domain Admins", nested in admin on a Mac bound to Active Directory, so
	// not among the 16 groups the socket credential carries.
	dir := func() *directory {
		return &directory{members: map[string][]string{"admin": {"alice", "carol"}}}
	}
	tests := []struct {
		name      string
		uid       int
		user      string
		groups    []uint32
		dir       *directory
		want      bool
		wantAsked int
	}{
		{"root", 0, "root", []uint32{0}, dir(), true, 0},
		{"admin among the socket's groups", 501, "alice", []uint32{20, 12, 61, 79, 80, 81}, dir(), true, 0},
		{"admin through a nested directory group", 1104, "carol", []uint32{1104, 20, 12, 61}, dir(), true, 1},
		{"not an admin anywhere", 502, "bob", []uint32{20, 12, 61}, dir(), false, 1},
		{"no account name: not looked up", 4242, "", []uint32{20}, dir(), false, 0},
		{"directory unreachable: no one is an admin by it", 1104, "carol", []uint32{20}, &directory{err: errors.New("opendirectoryd: timeout")}, false, 1},
	}
	for _, tt := range tests {
		got := peerIsAdmin(tt.uid, tt.user, tt.groups, darwinAdminGID, "admin", tt.dir)
		if got != tt.want || tt.dir.asked != tt.wantAsked {
			t.Errorf("%s: got admin %v after %d directory lookups, want %v after %d", tt.name, got, tt.dir.asked, tt.want, tt.wantAsked)
		}
	}
}

func TestDseditgroupMember(t *testing.T) {
	tests := []struct {
		out               string
		exit              int
		wantMember, known bool
	}{
		{"yes carol is a member of admin\n", 0, true, true},
		{"no bob is NOT a member of admin\n", 67, false, true},
		{"Group not found.\n", 64, false, false},
		{"Unable to find the user record\n", 64, false, false},
		{"", 1, false, false},
	}
	for _, tt := range tests {
		member, known := dseditgroupMember(tt.out, tt.exit)
		if member != tt.wantMember || known != tt.known {
			t.Errorf("%q, exit %d: got member %v known %v, want %v %v", tt.out, tt.exit, member, known, tt.wantMember, tt.known)
		}
	}
}

func TestDsBound(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  bool
	}{
		{"not bound", nil, false},
		{"Active Directory", []string{"Active Directory/STUDIO.plist"}, true},
		{"LDAP", []string{"LDAPv3/ldap.studio.example.plist"}, true},
		{"a folder without a binding", []string{"Active Directory/.DS_Store"}, false},
	}
	for _, tt := range tests {
		root := t.TempDir()
		for _, f := range tt.files {
			p := filepath.Join(root, dsConfigurations, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("<plist/>"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := dsBound(root); got != tt.want {
			t.Errorf("%s: got bound %v, want %v", tt.name, got, tt.want)
		}
	}
}
