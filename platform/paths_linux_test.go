package platform

import "testing"

func TestDefaultPaths(t *testing.T) {
	want := Paths{
		ConfigFile: "/etc/tollgate/tollgate.yaml",
		ConfigDir:  "/etc/tollgate",
		StateDir:   "/var/lib/tollgate",
		LogDir:     "/var/log/tollgate",
		Socket:     "/run/tollgate/tollgate.sock",
	}
	if got := DefaultPaths(); got != want {
		t.Errorf("DefaultPaths(): got %+v, want %+v", got, want)
	}
}

func TestPathsUnder(t *testing.T) {
	tests := []struct {
		name string
		p    Paths
		root string
		want Paths
	}{
		{
			name: "defaults under a prefix",
			p:    DefaultPaths(),
			root: "/tmp/prefix",
			want: Paths{
				ConfigFile: "/tmp/prefix/etc/tollgate/tollgate.yaml",
				ConfigDir:  "/tmp/prefix/etc/tollgate",
				StateDir:   "/tmp/prefix/var/lib/tollgate",
				LogDir:     "/tmp/prefix/var/log/tollgate",
				Socket:     "/tmp/prefix/run/tollgate/tollgate.sock",
			},
		},
		{
			name: "relative root and unclean paths",
			p:    Paths{ConfigFile: "/etc//tollgate/./tollgate.yaml", LogDir: "/var/log/tollgate/"},
			root: "inst",
			want: Paths{ConfigFile: "inst/etc/tollgate/tollgate.yaml", LogDir: "inst/var/log/tollgate"},
		},
		{
			name: "empty paths stay empty",
			p:    Paths{},
			root: "/tmp/prefix",
			want: Paths{},
		},
		{
			name: "named pipe gets a name derived from the root",
			p:    Paths{Socket: `\\.\pipe\tollgate`},
			root: "/tmp/prefix",
			want: Paths{Socket: `\\.\pipe\tollgate-` + "1364b80f2f5a9998"},
		},
		{
			name: "another root, another pipe",
			p:    Paths{Socket: `\\.\pipe\tollgate`},
			root: "/tmp/prefix2",
			want: Paths{Socket: `\\.\pipe\tollgate-` + "4ebe6bcd76f31bde"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Under(tt.root); got != tt.want {
				t.Errorf("%+v.Under(%q): got %+v, want %+v", tt.p, tt.root, got, tt.want)
			}
		})
	}
}
