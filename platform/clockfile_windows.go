package platform

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// clockWriteRights are the rights that let an account change the clock file or who may.
const clockWriteRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.DELETE |
	windows.WRITE_DAC | windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// adminOnly refuses a file that a non-administrator could have written: its owner and every
// account its access list lets write must be SYSTEM, Administrators, or this process's own
// account when that is elevated (an elevated administrator, or the service's LocalSystem), the
// analogue of Unix's root-owned file.
func adminOnly(path string) error {
	refuse := func(why string) error {
		return fmt.Errorf("%s %s: it must be owned by Administrators and writable by no one else (icacls \"%s\" /setowner Administrators /inheritance:r /grant:r SYSTEM:F Administrators:F)", path, why, path)
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading %s's access list: %w", path, err)
	}
	defer runtime.KeepAlive(sd)
	var trusted []*windows.SID
	for _, w := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid} {
		s, err := windows.CreateWellKnownSid(w)
		if err != nil {
			return err
		}
		trusted = append(trusted, s)
	}
	if tok := windows.GetCurrentProcessToken(); tok.IsElevated() {
		if tu, err := tok.GetTokenUser(); err == nil {
			trusted = append(trusted, tu.User.Sid)
		}
	}
	isTrusted := func(s *windows.SID) bool {
		for _, t := range trusted {
			if s.Equals(t) {
				return true
			}
		}
		return false
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil || !isTrusted(owner) {
		return refuse("is not owned by an administrator")
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return refuse("has no access list")
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return refuse("has an unreadable access list")
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 || ace.Mask&clockWriteRights == 0 {
			continue
		}
		if sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)); !isTrusted(sid) {
			return refuse("may be written by " + sid.String())
		}
	}
	return nil
}
