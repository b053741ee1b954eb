//go:build linux

// Package e2e runs the whole system: real ledgers (SQLite and PostgreSQL), real agents,
// real product processes, on one clock file that the tests move.
package e2e

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"

	"tollgate/agent/agenttest"
	"tollgate/ledger/ledgertest"
	"tollgate/ledger/store/storetest"
)

var bins agenttest.Bins

func TestMain(m *testing.M) { os.Exit(agenttest.Main(m, &bins)) }

// system is a ledger and the clock it shares with its agents.
type system struct {
	t      testing.TB
	clock  *agenttest.Clock
	ledger *ledgertest.Proc
	enroll string
}

const me = "root@studio.example" // every product process in these tests runs as root

func newSystem(t *testing.T, kind string, tokens int64) *system {
	t.Helper()
	clock := agenttest.NewClock(t, t.TempDir())
	db := ""
	if kind == "postgres" {
		db = storetest.URL(t, "postgres")
	}
	l := ledgertest.Start(t, bins.Tollgate, db, clock.Path)
	return &system{t: t, clock: clock, ledger: l, enroll: l.Studio(tokens, me)}
}

// agent makes a workstation enrolled with the system's ledger and starts it.
func (s *system) agent(opts ...func(*agenttest.Options)) *agenttest.Rig {
	o := agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock}
	for _, f := range opts {
		f(&o)
	}
	r := agenttest.New(s.t, o)
	r.Start()
	return r
}

func eachStore(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range storetest.Kinds() {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}

// spend debits n tokens from team studio through the ledger's own API, as another
// device's charge would.
func (s *system) spend(t testing.TB, n int64) {
	t.Helper()
	c := s.ledger.Device(t, s.enroll, "other-device")
	// The ledger takes a charge only at its product's rate: a product that costs n.
	product := "filler" + fmtInt(n)
	s.ledger.CLI("product", "add", product, "--rate", fmtInt(n))
	ev := api.Event{ID: "spend-1", Effect: charge.Effect{Kind: charge.Charged, At: s.clock.Now, Device: "other", User: me, Product: product,
		Key: charge.Key{Team: "studio", User: me, Product: product, Start: s.clock.Now.Add(-48 * time.Hour)}, Tokens: n, Renewal: true}}
	rs, err := c.Ingest(context.Background(), []api.Event{ev})
	if err != nil || rs[0].Status != api.Accepted {
		t.Fatalf("spending %d: got %+v %v", n, rs, err)
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
