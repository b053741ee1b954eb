package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"howett.net/plist"
)

// macOS shows `osascript -e 'display notification ...'` as coming from Script Editor, and
// files its notifications under Script Editor's settings: when a user (or a profile) turns
// those off, osascript still succeeds and nothing appears. The settings are in the user's
// Notification Center preferences, where each app has a bit field.
const (
	noticeSender = "com.apple.ScriptEditor2"
	// Bits of an app's "flags" in Notification Center's preferences.
	ncAllow   = 1 << 25 // Allow notifications
	ncBanners = 1 << 3  // alert style Banners
	ncAlerts  = 1 << 4  // alert style Alerts; neither: None, shown in Notification Center only
)

// NoticeHealth says whether desktop notices reach the screen of the user running this
// process, as far as the desktop's settings tell.
type NoticeHealth struct {
	OK bool
	// Problem is a sentence for `tollgate status` when !OK: what is wrong and what to change.
	Problem string
}

// noticeHealthMac reads Script Editor's notification settings from the preference files
// under home: Notification Center's (~/Library/Preferences/com.apple.ncprefs.plist, an array
// of apps) and, where newer macOS keeps them, usernoted's group container (a dictionary of
// apps). A missing entry means Script Editor never posted: macOS asks the user at the first
// notice.
func noticeHealthMac(home string) NoticeHealth {
	files := []string{
		filepath.Join(home, "Library/Preferences/com.apple.ncprefs.plist"),
		filepath.Join(home, "Library/Group Containers/group.com.apple.usernoted/Library/Preferences/group.com.apple.usernoted.plist"),
	}
	for _, f := range files {
		flags, found, err := ncFlags(f, noticeSender)
		switch {
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return NoticeHealth{Problem: "cannot read the notification settings (" + err.Error() + "): check that Script Editor may send notifications in System Settings > Notifications"}
		case !found:
			continue
		case flags&ncAllow == 0:
			return NoticeHealth{Problem: "notifications from Script Editor, which shows tollgate's notices, are off: nothing tollgate tells you will appear; turn on Allow notifications for Script Editor in System Settings > Notifications (or ask IT for the notification profile)"}
		case flags&(ncBanners|ncAlerts) == 0:
			return NoticeHealth{Problem: "Script Editor, which shows tollgate's notices, has the notification style None: notices go to Notification Center without appearing on screen; choose Banners or Alerts for Script Editor in System Settings > Notifications"}
		default:
			return NoticeHealth{OK: true}
		}
	}
	return NoticeHealth{OK: true}
}

// ncFlags returns the flags of the app with bundleID in a Notification Center preference
// file, and whether it has an entry.
func ncFlags(path, bundleID string) (uint64, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false, err
	}
	var prefs struct {
		Apps any `plist:"apps"`
	}
	if _, err := plist.Unmarshal(data, &prefs); err != nil {
		return 0, false, err
	}
	switch apps := prefs.Apps.(type) {
	case []any: // com.apple.ncprefs: [{bundle-id, flags, ...}]
		for _, a := range apps {
			if m, ok := a.(map[string]any); ok && m["bundle-id"] == bundleID {
				return ncUint(m["flags"]), true, nil
			}
		}
	case map[string]any: // usernoted: {bundle id: {flags, ...}}
		if m, ok := apps[bundleID].(map[string]any); ok {
			return ncUint(m["flags"]), true, nil
		}
	}
	return 0, false, nil
}

func ncUint(v any) uint64 {
	switch n := v.(type) {
	case uint64:
		return n
	case int64:
		return uint64(n)
	}
	return 0
}
