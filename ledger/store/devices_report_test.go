package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestDeviceReports: what an agent reports at enrollment and with each sync is kept per
// device, its backlog's age turned into a time by the ledger's clock; a report the ledger
// cannot keep is refused with what to do, and changes nothing.
func TestDeviceReports(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		tok, err := db.CreateEnrollToken(ctx, "studio", t0, t0.Add(time.Hour))
		must(t, err)
		en, err := db.Enroll(ctx, api.Enroll{Token: tok.Token, Name: "ws1", Agent: &api.AgentInfo{Version: "1.2.0", Backlog: 40, BacklogAge: 7200}}, t0)
		must(t, err)
		old, err := db.Enroll(ctx, api.Enroll{Token: tok.Token, Name: "ws2"}, t0)
		must(t, err)
		device := func(id string) api.Device {
			ds, err := db.Devices(ctx, "studio")
			must(t, err)
			for _, d := range ds {
				if d.ID == id {
					return d
				}
			}
			t.Fatalf("device %s not listed in %+v", id, ds)
			return api.Device{}
		}
		d := device(en.Device)
		if d.Version != "1.2.0" || d.Backlog != 40 || !d.BacklogSince.Equal(t0.Add(-2*time.Hour)) || !d.LastSync.IsZero() {
			t.Errorf("after enrolling: got version %q, backlog %d since %v, last sync %v; want 1.2.0, 40 since %v, never", d.Version, d.Backlog, d.BacklogSince, d.LastSync, t0.Add(-2*time.Hour))
		}
		if d := device(old.Device); d.Version != "" || d.BacklogText() != "not reported" {
			t.Errorf("an agent that reports nothing: got version %q, backlog %q; want none, not reported", d.Version, d.BacklogText())
		}

		at := t0.Add(time.Hour)
		must(t, db.Synced(ctx, en.Device, api.AgentInfo{Version: "1.3.0"}, at))
		d = device(en.Device)
		d.Age(at.Add(3 * time.Hour))
		if d.Version != "1.3.0" || d.Backlog != 0 || !d.BacklogSince.IsZero() || !d.LastSync.Equal(at) || d.OfflineSeconds != 3*3600 || d.BacklogText() != "none" {
			t.Errorf("after a sync: got %+v (%q); want 1.3.0, no backlog, synced at %v, offline for 3 hours", d, d.BacklogText(), at)
		}

		for _, bad := range []api.AgentInfo{
			{Version: "1.4\n0"},
			{Version: strings.Repeat("v", store.MaxVersion+1)},
			{Version: "1.4.0", Backlog: -1},
			{Version: "1.4.0", Backlog: 1, BacklogAge: -5},
		} {
			err := db.Synced(ctx, en.Device, bad, at.Add(time.Hour))
			if store.Code(err) != api.CodeBadRequest || !strings.Contains(err.Error(), "agent") {
				t.Errorf("report %+v: got %v, want a bad request that names the agent report", bad, err)
			}
		}
		if got := device(en.Device); got.Version != "1.3.0" || !got.LastSync.Equal(at) {
			t.Errorf("after refused reports: got version %q, last sync %v; want them unchanged (1.3.0, %v)", got.Version, got.LastSync, at)
		}
	})
}
