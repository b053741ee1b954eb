package platform

import (
	"time"

	"go.uber.org/zap"
)

// The pre-exec gate refuses a product's launch before its first instruction runs, where the OS
// lets an agent do so (Linux fanotify permission events). Elsewhere, or when the kernel refuses,
// NewGate returns an error and the caller falls back to closing denied launches after they
// start: the gate is a front line, never the only one, so every choice below fails open.
//
// Use:
//
//	g, err := platform.NewGate(platform.GateOptions{Paths: productPaths, Decide: decide, Logger: log})
//	if err != nil {
//		log.Info("launches will be closed after start", zap.Error(err))
//	} else {
//		go g.Run(ctx) // owned and waited for like any other agent goroutine
//	}
//	...
//	g.SetPaths(newProductPaths) // on config reload

// GateRequest is one pending execution of a watched program. The process stays frozen in execve
// until the gate answers.
type GateRequest struct {
	// PID is the process calling execve; it still runs its old image (a shell, a launcher).
	PID int32
	// Exe is the resolved path of the file being executed: symlinks followed, as the kernel
	// opened it.
	Exe string
}

// GateOptions configures NewGate.
type GateOptions struct {
	// Paths are the catalogue's product paths: absolute files, directories (everything below
	// them) or glob patterns (filepath.Match syntax; a pattern also matches everything below what it
	// matches). Symlinks in them are resolved when they are set. Bare names ("revit") cannot be
	// gated, as no finite set of places to watch holds them.
	Paths []string

	// Decide says whether a launch of a product may go ahead: true allows it. It must answer
	// from local state only, quickly, and never reach the network: the launching process and,
	// for a desktop, its user, wait for it. It is called from several goroutines at once.
	Decide func(GateRequest) bool

	// Timeout bounds each Decide call; zero means 200ms. When it passes, the launch is allowed
	// and the timeout logged: a stuck agent must never stop a workstation from running
	// programs, and a launch allowed by mistake is still closed after start by the process
	// watcher.
	Timeout time.Duration

	// Logger receives the gate's logs; nil discards them.
	Logger *zap.Logger
}
