//go:build unix

package platform

import (
	"context"
	"strings"
	"testing"
)

func TestDesktopNotifierRunsCommand(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		command func(Notice) (string, []string)
		// wantErr is a substring of Notify's error; "" means success.
		wantErr string
	}{
		{
			name: "tool succeeds and sees the notice",
			ctx:  t.Context(),
			command: func(n Notice) (string, []string) {
				return "sh", []string{"-c", `test "$1" = "$2"`, "sh", n.Title, "T"}
			},
		},
		{
			name: "tool fails: its stderr is in the error",
			ctx:  t.Context(),
			command: func(Notice) (string, []string) {
				return "sh", []string{"-c", "echo no notification service >&2; exit 3"}
			},
			wantErr: "showing notice with sh: exit status 3: no notification service",
		},
		{
			name: "tool missing",
			ctx:  t.Context(),
			command: func(Notice) (string, []string) {
				return "tollgate-no-such-notifier", nil
			},
			wantErr: "tollgate-no-such-notifier is not installed or not on PATH",
		},
		{
			name: "context already done",
			ctx:  cancelled,
			command: func(Notice) (string, []string) {
				return "sh", []string{"-c", "exit 0"}
			},
			wantErr: "context canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &DesktopNotifier{command: tt.command}
			err := d.Notify(tt.ctx, Notice{Title: "T", Body: "B"})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Notify: got %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Notify: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
