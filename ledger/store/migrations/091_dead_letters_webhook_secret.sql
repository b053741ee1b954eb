-- The dead-letter: every event the ledger refused, kept with its reason until an admin
-- re-sends it successfully, so that no charge is ever dropped without a trace.
CREATE TABLE dead_letters (
	device        TEXT NOT NULL,
	id            TEXT NOT NULL,
	team          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	product       TEXT NOT NULL,
	happened      BIGINT NOT NULL,
	tokens        BIGINT NOT NULL,
	event         TEXT NOT NULL, -- the event as the ledger last tried it (JSON), for a re-send
	skew_ns       BIGINT NOT NULL, -- the device's clock minus the ledger's when it was sent
	code          TEXT NOT NULL,
	message       TEXT NOT NULL,
	first_refused BIGINT NOT NULL,
	last_refused  BIGINT NOT NULL,
	attempts      BIGINT NOT NULL,
	resolved      BIGINT NOT NULL DEFAULT 0,
	resolution    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (device, id)
);
CREATE INDEX dead_letters_team ON dead_letters (team, resolved);

-- The key a team's webhook bodies are signed with (HMAC-SHA256), made when the webhook
-- is set and shown to the admin once.
ALTER TABLE teams ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
