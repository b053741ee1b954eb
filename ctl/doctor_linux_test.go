package ctl

import (
	"os/exec"
	"testing"
)

// TestDoctorDisk: the journal's disk, full and roomy, on real file systems.
func TestDoctorDisk(t *testing.T) {
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (the test needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", small).Run() })
	tests := []struct {
		name, dir, want string
	}{
		{"nearly full", small, statusFail},
		{"missing folder, its parent's disk", small + "/state/not/yet", statusFail},
		{"roomy", t.TempDir(), statusOK},
	}
	for _, tt := range tests {
		f := diskFinding(tt.dir)
		if f.Status != tt.want {
			t.Errorf("%s: got %s (%s), want %s", tt.name, f.Status, f.Detail, tt.want)
		}
		if f.Status == statusFail && f.Fix == "" {
			t.Errorf("%s: got no fix, want what to do", tt.name)
		}
	}
}
