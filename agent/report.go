package agent

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"time"

	"go.uber.org/zap"

	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

// reportEvery is how often an idle agent, with nothing to send, still tells the ledger its
// version and empty backlog, so that the admin's Devices page shows it synced lately.
const reportEvery = 15 * time.Minute

// buildVersion is the module version the binary was built at ("(devel)" for a build
// from a work tree), with its commit when the build recorded one.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// agentInfo is the agent's report of itself: its version, and the journal entries after
// the id after that still wait for the ledger, with the age of the oldest by the
// device's clock. A journal that cannot be read reports what it can: the version.
func (a *Agent) agentInfo(after string) *api.AgentInfo {
	info := &api.AgentInfo{Version: a.opts.Version}
	n, oldest, err := a.journal.Pending(after)
	if err != nil {
		a.log.Warn("backlog not counted", zap.Error(err))
		return info
	}
	info.Backlog = n
	if n > 0 && !oldest.IsZero() {
		info.BacklogAge = max(int64(a.reading().Wall.Sub(oldest)/time.Second), 0)
	}
	return info
}

// send posts a batch with the agent's report. A ledger older than the report refuses
// the field, and is sent the batch again without it: a newer agent never stalls on an
// older ledger.
func (a *Agent) send(ctx context.Context, c *client.Client, in api.Ingest) ([]api.Result, error) {
	rs, err := c.Send(ctx, in)
	if in.Agent != nil && unknownAgentField(err) {
		a.reported = sinceNow(a)
		in.Agent = nil
		if len(in.Events) == 0 {
			return nil, nil
		}
		return c.Send(ctx, in)
	}
	if err == nil {
		a.reported = sinceNow(a)
	}
	return rs, err
}

// reportIdle tells the ledger the agent's version and its empty backlog when it has not
// since the sync loop started, or for reportEvery. A failure is tried again at the next
// idle turn of the loop; it is no failure of the sync, which had nothing to send.
func (a *Agent) reportIdle(ctx context.Context, c *client.Client) error {
	if a.reported.within(a.elapsed(), reportEvery) {
		return nil
	}
	if _, err := a.send(ctx, c, api.Ingest{DeviceNow: a.deviceNow(), Agent: a.agentInfo(a.synced.Load().(string))}); err != nil {
		a.log.Debug("report to the ledger postponed", zap.Error(err))
	}
	return nil
}

// unknownAgentField reports whether err is a ledger's refusal of the agent report it
// does not know yet.
func unknownAgentField(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Code == api.CodeBadRequest && strings.Contains(ce.Message, `unknown field "agent"`)
}
