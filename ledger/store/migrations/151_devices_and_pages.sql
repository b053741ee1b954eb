-- What each device's agent last told the ledger about itself (issue 12, the Devices
-- page): its version, the journal entries it still had to send after its last sync and
-- when the oldest of them happened (ledger time, ns; 0 when none), and when it last synced.
ALTER TABLE devices ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN backlog BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN backlog_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN last_sync BIGINT NOT NULL DEFAULT 0;

-- The console's pages in under 200 ms for a team with a year of history (issue 12): the
-- advisor's first use of each (user, product) is one probe of events_first_use; the
-- notices page's refused charges are events_refused alone; the forecast's tokens per day
-- and the balance page's changes per day are ranges of migration 141's charges_team_start
-- and movements_team_happened, not scans of the team's whole history.
CREATE INDEX events_first_use ON events (team, user_id, product, happened) WHERE kind IN ('opened', 'charged');
CREATE INDEX events_refused ON events (team, happened) WHERE kind = 'charged' AND status <> 'accepted';
