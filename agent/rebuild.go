package agent

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/journal"
	"tollgate/charge"
	"tollgate/config"
)

// A config push is a rebuild, the way Caddy reloads: what depends on the new
// configuration and can fail (the ledger's enrollment, the gate's marks) is prepared
// first; a failure there refuses the push whole and the last good configuration stays in
// force. Then the configuration, the catalogue, the identity mapping and the policy are
// swapped in under a.swap, which every launch decision holds for reading from its first
// look at the catalogue to its answer: no launch is decided by half of one configuration
// and half of another. Last, the old sync loop is replaced by one on the new link, the
// tick and the process source take the new interval, and the process source rescans
// under its new filter, so that a product already running that the push names is seen.

// retuner is a process source whose filter and interval follow pushes; platform.Source
// is one.
type retuner interface {
	Retune(filter func(string) bool, interval time.Duration)
}

const enrollTimeout = 15 * time.Second

// reconfigure applies cfg whole or not at all. It returns only errors that stop the agent
// (a journal that cannot be written); a push it cannot apply is refused through the
// watcher, which reports it in status and the log.
func (a *Agent) reconfigure(cfg *config.Config) error {
	_, err := a.apply(cfg)
	return err
}

// apply applies cfg whole, or refuses it (refused says why) and changes nothing; fatal
// is an error that stops the agent.
func (a *Agent) apply(cfg *config.Config) (refused, fatal error) {
	a.reconf.Lock()
	defer a.reconf.Unlock()
	old := a.config()
	if old == cfg {
		return nil, nil
	}
	refuse := func(err error) (error, error) {
		a.watcher.Refuse(cfg, old, err)
		return err, nil
	}

	// Prepare what can fail, before anything changes.
	relink := a.link != nil && cfg.Ledger.URL != "" && cfg.Ledger != old.Ledger
	var nl *link
	var cred []byte
	if relink {
		var err error
		if nl, err = newLink(cfg); err != nil {
			return refuse(err)
		}
		if cfg.Ledger.URL != old.Ledger.URL {
			// Another ledger: this device enrolls with it now, so that a URL it cannot
			// reach or a token it refuses is found while the old link still works.
			ctx, cancel := context.WithTimeout(a.ctx(), enrollTimeout)
			en, err := enroll(ctx, a.device, nl.url, nl.token, nl.hc, a.agentInfo(""))
			cancel()
			if err != nil {
				return refuse(fmt.Errorf("ledger.url %s: %w", cfg.Ledger.URL, err))
			}
			cred = []byte(en.Credential)
			a.log.Info("enrolled with the new ledger", zap.String("ledger", nl.url), zap.String("team", en.Team), zap.String("ledger_device", en.Device))
		}
	}
	var snap *Snapshot
	if a.ents.file && cfg.EntitlementFile != "" {
		var err error
		if snap, err = LoadSnapshot(cfg.EntitlementFile); err != nil {
			return refuse(err)
		}
	}
	g := a.runningGate()
	oldPaths, newPaths := gatePaths(old), gatePaths(cfg)
	if g != nil && !slices.Equal(oldPaths, newPaths) {
		// New marks before the swap: a launch they catch meanwhile is decided by the old
		// catalogue, which lets it through to be decided after start by the new one.
		if err := g.SetPaths(newPaths); err != nil {
			if undo := g.SetPaths(oldPaths); undo != nil {
				a.log.Error("pre-exec gate: the old paths could not be watched again", zap.Error(undo))
			}
			return refuse(fmt.Errorf("pre-exec gate: %w", err))
		}
	}

	// The sync loop and its link are replaced together: the old loop stops first.
	if relink {
		a.stopSync()
	}

	a.swap.Lock()
	a.mu.Lock()
	if cred != nil {
		if err := a.journal.Put(keyCredential, cred); err != nil {
			a.mu.Unlock()
			a.swap.Unlock()
			return nil, err
		}
	}
	if relink {
		a.link.replace(nl)
	}
	a.cfg = cfg
	if !reflect.DeepEqual(cfg.Identity, old.Identity) {
		a.endStreams()
	}
	a.ents.addProducts(catalogue(cfg))
	if snap != nil {
		a.ents.loadFile(snap)
	}
	p := a.policy(cfg)
	_, err := a.record(journal.Input{Kind: journal.Policy, Reading: a.lastRead, Policy: p}, func(charge.Entitlements) []charge.Effect {
		a.meter.SetPolicy(p)
		return nil
	})
	if err == nil && snap != nil {
		for _, s := range a.meter.Sessions() {
			if err = a.recheckLocked(s.User); err != nil {
				break
			}
		}
	}
	a.mu.Unlock()
	a.swap.Unlock()
	if err != nil {
		return nil, err
	}
	if a.opts.OnConfig != nil {
		a.opts.OnConfig(cfg, a.log) // e.g. Windows's launch gate entries for the new catalogue
	}

	if relink {
		a.startSync()
	}
	if r, ok := a.src.(retuner); ok {
		r.Retune(mayBeProduct(cfg), cfg.Policy.PollInterval)
	}
	select {
	case <-a.tickEvery:
	default:
	}
	a.tickEvery <- cfg.Policy.PollInterval
	restart := a.needsRestart(cfg)
	a.watcher.SetRestart(restart)
	a.log.Info("config applied", zap.Int("products", len(cfg.Products)), zap.Duration("poll_interval", cfg.Policy.PollInterval),
		zap.Bool("ledger_relinked", relink))
	if len(restart) > 0 {
		a.log.Warn("pushed settings take effect when the agent restarts; the others are in force", zap.Strings("waiting_for_restart", restart))
	}
	return nil, nil
}

// needsRestart lists the settings of cfg that differ from what the agent started with
// and that it cannot change while running: where it logs, and whether it has a ledger at
// all (the journal's answers and the entitlements are kept differently with and without).
func (a *Agent) needsRestart(cfg *config.Config) []string {
	var out []string
	b := a.boot
	if a.opts.Logger == nil {
		if cfg.Log.File != b.Log.File {
			out = append(out, "log.file")
		}
		if cfg.Log.MaxSizeMB != b.Log.MaxSizeMB {
			out = append(out, "log.max_size_mb")
		}
		if cfg.Log.MaxBackups != b.Log.MaxBackups {
			out = append(out, "log.max_backups")
		}
	}
	if (cfg.Ledger.URL == "") != (b.Ledger.URL == "") {
		out = append(out, "ledger.url")
	}
	if (cfg.EntitlementFile == "") != (b.EntitlementFile == "") {
		out = append(out, "entitlement_file")
	}
	return out
}

// ctx is the agent's run context, or a background one before Run.
func (a *Agent) ctx() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runCtx == nil {
		return context.Background()
	}
	return a.runCtx
}

// startSync starts a sync loop on the current link; the caller holds a.reconf or is Run
// before anything else can reconfigure.
func (a *Agent) startSync() {
	ctx, stop := context.WithCancel(a.ctx())
	done := make(chan struct{})
	a.loops.Add(1)
	go func() {
		defer a.loops.Done()
		defer close(done)
		if err := a.sync(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("ledger sync stopped", zap.Error(err))
			a.mu.Lock()
			cancel := a.cancel
			a.mu.Unlock()
			cancel(fmt.Errorf("ledger sync: %w", err))
		}
	}()
	a.syncStop = func() { stop(); <-done }
}

// stopSync stops the sync loop and waits for it.
func (a *Agent) stopSync() {
	if a.syncStop != nil {
		a.syncStop()
		a.syncStop = nil
	}
}

// replace points the link at another ledger (or the same one through other settings);
// Agent.ledger then builds its client from the credential the journal holds.
func (l *link) replace(n *link) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.url, l.token, l.hc = n.url, n.token, n.hc
	l.client = nil
	l.online, l.err = true, ""
}

// addProducts makes products a push adds known at rate 0 until a snapshot says more.
func (x *entitlements) addProducts(rates map[string]int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	next := make(map[string]int64, len(x.rates)+len(rates))
	for id, r := range rates {
		next[id] = r
	}
	for id, r := range x.rates {
		next[id] = r
	}
	x.rates = next
}
