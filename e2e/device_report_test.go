//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/ledger/api"
)

// gate is a real HTTP path between the agents and the ledger that an admin's network can
// close: while a path's prefix is closed it answers 503 with Retry-After: 1, as an
// overloaded proxy would, and the ledger sees nothing.
type gate struct {
	closed atomic.Value // []string: closed path prefixes
	url    string
}

func newGate(t *testing.T, ledger string) *gate {
	u, err := url.Parse(ledger)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	g.closed.Store([]string(nil))
	proxy := httputil.NewSingleHostReverseProxy(u)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range g.closed.Load().([]string) {
			if strings.HasPrefix(r.URL.Path, p) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, `{"code":"overloaded","message":"closed by the test's gate"}`, http.StatusServiceUnavailable)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	g.url = hs.URL
	return g
}

func (g *gate) close(prefixes ...string) { g.closed.Store(prefixes) }

// devices is the ledger's device list, as `tollgate ledger device list --json` prints it.
func (s *system) devices(t *testing.T) []api.Device {
	t.Helper()
	var ds []api.Device
	out := s.ledger.CLI("device", "list", "--team", "studio", "--json")
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("device list --json: %v\n%s", err, out)
	}
	return ds
}

// TestDevicesShowVersionAndBacklog: a workstation that could not reach the ledger at first
// journals what it did; once it enrolls the ledger knows its version and how much it has
// not sent, and how old that is; after it syncs, its backlog is none and its last sync is
// the ledger's now; when it stops, the ledger says for how long it has been offline.
func TestDevicesShowVersionAndBacklog(t *testing.T) {
	out, err := exec.Command(bins.Tollgate, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimPrefix(strings.TrimSpace(string(out)), "tollgate ")
	eachStore(t, func(t *testing.T, kind string) {
		s := newSystem(t, kind, 100)
		g := newGate(t, s.ledger.URL)
		g.close("/v1/")
		r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: g.url, EnrollToken: s.enroll, Clock: s.clock, NoGate: true})
		r.Start()
		// Never enrolled, never reached: the launch is refused and that is journaled.
		r.Launch("bin/revit")
		st := r.WaitFor("the refusal journaled", func(st localapi.Status) bool { return st.Backlog > 0 })
		backlog := int64(st.Backlog)
		// A paced attempt is tried again after its Retry-After on the agent's clock: the
		// clock moves once more after the gate opens, so that a wait begun meanwhile ends.
		s.clock.Set(t, day1.Add(3*time.Hour-10*time.Second))
		r.Settled(nil)
		g.close("/v1/events")
		s.clock.Set(t, day1.Add(3*time.Hour))
		var ds []api.Device
		deadline := time.Now().Add(30 * time.Second)
		for len(ds) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			ds = s.devices(t)
		}
		if len(ds) != 1 {
			t.Fatalf("got devices %+v, want the workstation enrolled", ds)
		}
		d := ds[0]
		if d.Version != version || d.Backlog != backlog || d.BacklogAgeSeconds != 3*3600 || !d.LastSync.IsZero() {
			t.Errorf("got version %q, backlog %d of age %ds, last sync %v; want %q, %d of age %d, never synced",
				d.Version, d.Backlog, d.BacklogAgeSeconds, d.LastSync, version, backlog, 3*3600)
		}
		table := s.ledger.CLI("device", "list", "--team", "studio")
		if !strings.Contains(table, version) || !strings.Contains(table, "1 entry, the oldest 3 hours old") || !strings.Contains(table, "never") {
			t.Errorf("got the device table\n%s\nwant its version, backlog and no sync yet", table)
		}

		g.close()
		// The events refused by the gate are sent again after their Retry-After on the
		// agent's clock, which stands still here unless moved: move it on while they wait.
		moved := time.Now()
		r.WaitFor("the backlog drained", func(st localapi.Status) bool {
			if st.Backlog > 0 && time.Since(moved) > time.Second {
				moved = time.Now()
				s.clock.Set(t, s.clock.Now.Add(2*time.Second))
			}
			return st.Backlog == 0
		})
		deadline = time.Now().Add(30 * time.Second)
		for d = s.devices(t)[0]; d.Backlog != 0 && time.Now().Before(deadline); d = s.devices(t)[0] {
			time.Sleep(100 * time.Millisecond)
		}
		if d.Backlog != 0 || d.BacklogAgeSeconds != 0 || !d.LastSync.Equal(s.clock.Now) || d.Version != version {
			t.Errorf("got backlog %d (age %ds), last sync %v, version %q after the sync; want none, %v, %q", d.Backlog, d.BacklogAgeSeconds, d.LastSync, d.Version, s.clock.Now, version)
		}

		r.Stop()
		s.clock.Set(t, s.clock.Now.Add(50*time.Hour))
		d = s.devices(t)[0]
		if d.OfflineSeconds != 50*3600 {
			t.Errorf("got offline for %ds after the agent stopped 50 hours ago, want %d", d.OfflineSeconds, 50*3600)
		}
		if table := s.ledger.CLI("device", "list", "--team", "studio"); !strings.Contains(table, "2 days") || !strings.Contains(table, "none") {
			t.Errorf("got the device table\n%s\nwant offline for 2 days and no backlog", table)
		}
	})
}
