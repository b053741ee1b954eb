//go:build linux

package agent_test

import (
	"fmt"
	"os"
	"testing"

	"tollgate/agent/agenttest"
)

// The end-to-end tests run the real `tollgate run` and real product processes, built
// once in TestMain.
var bins agenttest.Bins

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tollgate-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if bins, err = agenttest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

var day1 = agenttest.Day1

func newRig(t testing.TB, available int64, opts ...func(*agenttest.Options)) *agenttest.Rig {
	o := agenttest.Options{Bins: bins, Available: available}
	for _, f := range opts {
		f(&o)
	}
	return agenttest.New(t, o)
}

func noGate(o *agenttest.Options) { o.NoGate = true }
