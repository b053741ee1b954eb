//go:build !windows

package agent

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestJournalProblemInWords(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "write", Path: "/var/lib/tollgate/journal.db", Err: syscall.ENOSPC}, "disk holding the agent's state folder is full"},
		{&fs.PathError{Op: "write", Path: "/var/lib/tollgate/journal.db", Err: syscall.EROFS}, "read-only"},
		{&fs.PathError{Op: "write", Path: "/var/lib/tollgate/journal.db", Err: syscall.EIO}, "reports errors"},
		{errors.New("something else"), "the journal cannot be written: something else"},
	}
	for _, tt := range tests {
		if got := journalProblem(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("journalProblem(%v): got %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
}
