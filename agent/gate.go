package agent

import (
	"context"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"tollgate/charge"
	"tollgate/config"
	"tollgate/platform"
)

// gate runs the pre-exec gate where the OS allows it. Where it does not, launches that
// are denied are closed after they start; that is logged once and shown by `status`.
func (a *Agent) gate(ctx context.Context) error {
	// Made under reconf, so that a push either lands before and is in its paths, or after
	// and finds it running.
	a.reconf.Lock()
	g, err := platform.NewGate(platform.GateOptions{Paths: gatePaths(a.config()), Decide: a.gateDecide, Logger: a.log})
	a.mu.Lock()
	if err != nil {
		a.gateErr = err.Error()
		a.mu.Unlock()
		a.reconf.Unlock()
		a.log.Info("pre-exec gate unavailable; denied launches are closed after start", zap.Error(err))
		return nil
	}
	a.gateOn = true
	a.gateH = g
	a.mu.Unlock()
	a.reconf.Unlock()
	defer func() {
		a.mu.Lock()
		a.gateH = nil
		a.mu.Unlock()
	}()
	return g.Run(ctx)
}

// gateHandle is the part of the running gate a push changes; *platform.Gate is one.
type gateHandle interface {
	SetPaths(paths []string) error
}

// runningGate returns the running gate, or nil.
func (a *Agent) runningGate() gateHandle {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gateH
}

// gateState is the gate as status shows it; the caller holds a.mu.
func (a *Agent) gateState() string {
	switch {
	case a.gateOn:
		return "on" + ungated(a.cfg) // callers hold a.mu
	case a.gateErr != "":
		return "off: " + a.gateErr
	}
	return "off"
}

// ungated says which products the gate cannot stop before they run: the kernel's pre-exec
// check is per file, so only products with a path rule are gated.
func ungated(cfg *config.Config) string {
	var names []string
	for _, p := range cfg.Products {
		if len(p.Match.Path) == 0 {
			names = append(names, p.Name)
		}
	}
	switch {
	case len(names) == 0:
		return ""
	case len(names) == len(cfg.Products):
		return ", but no product has a path rule, so none is stopped before it runs: a denied product is closed right after it starts (add match.path to gate it)"
	}
	return ", except " + strings.Join(names, ", ") + " (matched by name only: closed right after they start if denied; add match.path to gate them)"
}

// gatePaths is what the gate watches: the catalogue's path globs. Products known by name
// alone cannot be gated.
func gatePaths(cfg *config.Config) []string {
	var out []string
	for _, p := range cfg.Products {
		for _, g := range p.Match.Path {
			out = append(out, filepath.FromSlash(g))
		}
	}
	return out
}

// gateDecide answers the gate from local state only: the catalogue, the user behind the
// launching process, and the meter. It changes nothing: the launch, if allowed, is seen
// by the process source like any other.
func (a *Agent) gateDecide(req platform.GateRequest) bool {
	a.swap.RLock() // decided by one configuration, whole
	defer a.swap.RUnlock()
	cfg := a.config()
	p, ok := cfg.Match(req.Exe, nil, goos())
	if !ok {
		return true
	}
	account, err := platform.ProcOwner(req.PID)
	if err != nil {
		return true // not knowing who launches, the process source decides after start
	}
	user, err := cfg.User(account, "")
	if err != nil {
		return true
	}
	a.mu.Lock()
	d := a.whileUnwritable(a.meter.Check(user, p.ID, a.ents))
	if !d.Allowed && d.Reason != charge.JournalUnavailable && !a.sure(user, d) {
		a.mu.Unlock()
		a.log.Info("launch let through the gate to be decided after start", zap.String("user", user), zap.String("product", p.ID), zap.String("reason", string(d.Reason)))
		return true
	}
	if !d.Allowed {
		f := charge.Effect{Kind: charge.Denied, At: a.meter.Now(), Device: a.device, User: user, Product: p.ID, Reason: d.Reason, Decision: &d}
		if m, ok := messageFor(f, nameOf(p), cfg.AdminContact, false); ok {
			if d.Reason == charge.JournalUnavailable {
				m.Body = charge.Denial(&d, nameOf(p)) + " The cause: " + journalProblem(a.journalErr) + "." + a.contact()
			}
			a.tell(m)
		}
	}
	a.mu.Unlock()
	a.log.Info("launch gated", zap.String("user", user), zap.String("product", p.ID), zap.String("exe", req.Exe),
		zap.Bool("allowed", d.Allowed), zap.String("reason", string(d.Reason)))
	return d.Allowed
}

// sure reports whether a denial from local state can stand without asking the ledger.
// With a ledger the cache may be behind (tokens just bought, a user just assigned), and
// the gate cannot wait on the network: it refuses only on a snapshot younger than a
// refresh, or when offline too long; anything else starts and is decided, with the
// ledger, by the process watcher.
func (a *Agent) sure(user string, d charge.Decision) bool {
	if a.link == nil {
		return true
	}
	asOf := a.ents.asOf(user)
	switch {
	case asOf.IsZero():
		return false
	case d.Reason == charge.OfflineTooLong:
		return !a.link.state().Online
	}
	return a.meter.Now().Sub(asOf) < refreshEvery
}
