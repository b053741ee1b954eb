// Package ctl holds the verbs that talk to a running agent over its local API: status,
// check, launch, reload, doctor, notifier, and Windows's launch gate. It depends on
// package localapi and never on the daemon (package agent), so that what a person runs at
// their desk carries none of the daemon's code paths; imports_test.go at the module's root
// holds it to that.
package ctl

import (
	"io"

	"tollgate/cli"
)

// env is what a verb may touch of the outside world, so tests can run verbs in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

func envOf(e cli.Env) env { return env{stdout: e.Stdout, stderr: e.Stderr, stdin: e.Stdin} }
