package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"
)

// TestNoticeHealthMac writes Notification Center's preferences as macOS keeps them (binary
// plists, in both places and shapes macOS has used) with Script Editor's flags as System
// Settings sets them, and checks what `tollgate status` would say.
func TestNoticeHealthMac(t *testing.T) {
	// Flags System Settings wrote for an app: everything off; allowed with style None;
	// allowed with Banners; allowed with Alerts.
	const off, none, banners, alerts = 1351102785, 1384657217, 1384657225, 1384657233
	ncprefs := func(flags uint64) any {
		return map[string]any{"apps": []any{
			map[string]any{"bundle-id": "com.apple.Safari", "flags": uint64(banners)},
			map[string]any{"bundle-id": noticeSender, "flags": flags, "path": "/System/Applications/Utilities/Script Editor.app"},
		}}
	}
	usernoted := func(flags uint64) any {
		return map[string]any{"apps": map[string]any{noticeSender: map[string]any{"flags": flags}}}
	}
	tests := []struct {
		name        string
		ncprefs     any // ~/Library/Preferences/com.apple.ncprefs.plist; nil: absent
		usernoted   any // the group container's; nil: absent
		wantOK      bool
		wantProblem string
	}{
		{"banners", ncprefs(banners), nil, true, ""},
		{"alerts", ncprefs(alerts), nil, true, ""},
		{"turned off", ncprefs(off), nil, false, "are off"},
		{"style None", ncprefs(none), nil, false, "style None"},
		{"never posted: macOS asks at the first notice", map[string]any{"apps": []any{}}, nil, true, ""},
		{"no preferences at all", nil, nil, true, ""},
		{"newer macOS: the group container, off", nil, usernoted(off), false, "are off"},
		{"newer macOS: the group container, banners", nil, usernoted(banners), true, ""},
		{"garbage", "not a plist", nil, false, "cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			write := func(rel string, v any) {
				if v == nil {
					return
				}
				p := filepath.Join(home, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				data := []byte("garbage")
				if _, isText := v.(string); !isText {
					var err error
					if data, err = plist.Marshal(v, plist.BinaryFormat); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write("Library/Preferences/com.apple.ncprefs.plist", tt.ncprefs)
			write("Library/Group Containers/group.com.apple.usernoted/Library/Preferences/group.com.apple.usernoted.plist", tt.usernoted)
			got := noticeHealthMac(home)
			if got.OK != tt.wantOK || !strings.Contains(got.Problem, tt.wantProblem) || got.OK != (got.Problem == "") {
				t.Errorf("got %+v, want OK %v and a problem saying %q", got, tt.wantOK, tt.wantProblem)
			}
		})
	}
}
