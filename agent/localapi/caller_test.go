package localapi

import (
	"testing"

	"tollgate/platform"
)

// TestForUser: whom a request may be about, as the connection's caller established it. Anyone
// asks about their own launches; only an administrator names another user; an account that
// maps to no licensing user may ask about nobody's, and says so. (Each case is also run against
// the real agent by TestLocalAPIIdentifiesCallers in package agent.)
func TestForUser(t *testing.T) {
	mary := Caller{Peer: platform.Peer{UID: 1000, User: "mary"}, User: "mary@studio.example"}
	root := Caller{Peer: platform.Peer{UID: 0, User: "root", Admin: true}, User: "root@studio.example"}
	nameless := Caller{Peer: platform.Peer{UID: 41007}}
	tests := []struct {
		name      string
		c         Caller
		asked     string
		wantUser  string
		wantCode  string
		wantWrite bool
	}{
		{"own, implied", mary, "", "mary@studio.example", "", false},
		{"own, named", mary, "mary@studio.example", "mary@studio.example", "", false},
		{"another's", mary, "bob@studio.example", "", CodeOtherUser, false},
		{"admin, own", root, "", "root@studio.example", "", true},
		{"admin, another's", root, "bob@studio.example", "bob@studio.example", "", true},
		{"no licensing user", nameless, "", "", CodeUnknownCaller, false},
		{"no licensing user, another's", nameless, "bob@studio.example", "", CodeOtherUser, false},
	}
	for _, tt := range tests {
		got, bad := forUser(tt.c, request{user: tt.asked})
		code := ""
		if bad != nil {
			code = bad.Code
			if bad.Status != 403 || bad.Message == "" {
				t.Errorf("%s: got refusal %+v, want a 403 with a sentence", tt.name, bad)
			}
		}
		if got != tt.wantUser || code != tt.wantCode {
			t.Errorf("%s: got user %q, code %q; want %q, %q", tt.name, got, code, tt.wantUser, tt.wantCode)
		}
		if w := tt.c.PermitWrite(); w != tt.wantWrite {
			t.Errorf("%s: got PermitWrite %v, want %v", tt.name, w, tt.wantWrite)
		}
	}
}
