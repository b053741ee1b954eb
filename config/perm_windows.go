//go:build windows

package config

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	fileDeleteChild = 0x40 // not in x/sys/windows

	// writeRights are the rights that let a principal change a file, what a folder holds,
	// or who may do either.
	writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | fileDeleteChild |
		windows.DELETE | windows.WRITE_DAC | windows.WRITE_OWNER |
		windows.GENERIC_WRITE | windows.GENERIC_ALL

	aceAllowedCallback = 9 // ACCESS_ALLOWED_CALLBACK_ACE_TYPE, a conditional allow

	sidTrustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
	sidOwnerRights      = "S-1-3-4" // stands for the owner, who is checked separately
)

// checkPerm refuses a file or folder that anyone but SYSTEM, Administrators,
// TrustedInstaller or the agent's own account owns or may write, since they could change
// what is licensed. Deny entries are not weighed: an allow entry that grants a
// non-administrator write access is refused even if a deny entry masks it.
func checkPerm(f *os.File, path string, _ target) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("cannot check permissions: %w", err)
	}
	return checkSD(sd, path)
}

// checkSD is checkPerm on the owner and access list of sd, read from path.
func checkSD(sd *windows.SECURITY_DESCRIPTOR, path string) error {
	defer runtime.KeepAlive(sd) // owner and ACEs point into it
	trusted, err := trustedSIDs()
	if err != nil {
		return fmt.Errorf("cannot check permissions: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return fmt.Errorf("cannot check permissions: no owner: %v", err)
	}
	if !isTrusted(owner, trusted) {
		return fmt.Errorf("owned by %s, not SYSTEM or Administrators, so that account can change licensing; run as an administrator: icacls %s /setowner Administrators", accountName(owner), cmdQuote(path))
	}
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || err == nil && dacl == nil {
		return fmt.Errorf("has no access list, so everyone may change it; run as an administrator: icacls %s /inheritance:r /grant:r SYSTEM:F Administrators:F Users:RX", cmdQuote(path))
	}
	if err != nil {
		return fmt.Errorf("cannot check permissions: %w", err)
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("cannot check permissions: access entry %d: %w", i, err)
		}
		switch {
		case ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE && ace.Header.AceType != aceAllowedCallback:
			continue
		case ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0, ace.Mask&writeRights == 0:
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if isTrusted(sid, trusted) || sid.String() == sidOwnerRights {
			continue
		}
		return fmt.Errorf("%s may write it, so that account can change licensing; run as an administrator: icacls %s /inheritance:d, then icacls %s /remove:g *%s", accountName(sid), cmdQuote(path), cmdQuote(path), sid)
	}
	return nil
}

// trustedSIDs are the accounts that may own and write configuration: the machine's
// administrators and the agent's own account (the analogue of root and the effective uid).
func trustedSIDs() ([]*windows.SID, error) {
	var sids []*windows.SID
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid} {
		s, err := windows.CreateWellKnownSid(t)
		if err != nil {
			return nil, err
		}
		sids = append(sids, s)
	}
	ti, err := windows.StringToSid(sidTrustedInstaller)
	if err != nil {
		return nil, err
	}
	sids = append(sids, ti)
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return append(sids, tu.User.Sid), nil
}

// cmdQuote quotes path for cmd.exe and PowerShell as an administrator would type it: in plain
// double quotes, backslashes as they are (a Windows path cannot hold a double quote). Go's %q
// would double every backslash, and icacls would not find the file.
func cmdQuote(path string) string { return `"` + path + `"` }

func isTrusted(sid *windows.SID, trusted []*windows.SID) bool {
	for _, t := range trusted {
		if sid.Equals(t) {
			return true
		}
	}
	return false
}

func accountName(sid *windows.SID) string {
	account, domain, _, err := sid.LookupAccount("")
	switch {
	case err != nil:
		return sid.String()
	case domain == "":
		return account
	}
	return domain + `\` + account
}
