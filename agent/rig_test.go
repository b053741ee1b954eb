//go:build linux

package agent_test

import (
	"os"
	"testing"

	"tollgate/agent/agenttest"
)

// The end-to-end tests run the real `tollgate run` and real product processes, built
// once in TestMain.
var bins agenttest.Bins

func TestMain(m *testing.M) { os.Exit(agenttest.Main(m, &bins)) }

var day1 = agenttest.Day1

func newRig(t testing.TB, available int64, opts ...func(*agenttest.Options)) *agenttest.Rig {
	o := agenttest.Options{Bins: bins, Available: available}
	for _, f := range opts {
		f(&o)
	}
	return agenttest.New(t, o)
}

func noGate(o *agenttest.Options) { o.NoGate = true }
