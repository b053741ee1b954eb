package ledger

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultDataIsNeverTheWorkingFolder: `ledger serve` without --data keeps its database
// and super-admin token in a fixed place, not wherever the command was started.
func TestDefaultDataIsNeverTheWorkingFolder(t *testing.T) {
	got := defaultData()
	if !filepath.IsAbs(got) {
		t.Fatalf("got default data folder %q, want an absolute path", got)
	}
	if os.Geteuid() == 0 && got != "/var/lib/tollgate-ledger" {
		t.Errorf("got %q as root, want /var/lib/tollgate-ledger", got)
	}
}
