package installer

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// This file compiles for Windows in CI but is not exercised there: the tests run on Linux.

// requireAdmin refuses a process without an elevated administrator's token (or SYSTEM's,
// as Intune and GPO run).
func requireAdmin() error {
	if !windows.GetCurrentProcessToken().IsElevated() {
		return fmt.Errorf("%w: run it from an elevated prompt (Run as administrator) or as SYSTEM, as Intune and GPO do", ErrNotAdmin)
	}
	return nil
}

// checkBinary accepts any binary: Program Files is administrators' only by default, and
// this is not checked on Windows.
func checkBinary(string) error { return nil }

// secureDir gives d its protected access list, owned by Administrators, replacing what it
// inherited from ProgramData (where every user may create files). A folder without an SDDL
// keeps inheriting.
func secureDir(d Dir) error {
	if d.SDDL == "" {
		return nil
	}
	sd, err := windows.SecurityDescriptorFromString(d.SDDL)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(d.Path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		admins, nil, dacl, nil)
}

// secureFile leaves f with the access list it inherited from its folder.
func secureFile(*os.File, os.FileMode) error { return nil }
