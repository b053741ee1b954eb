-- Times are Unix nanoseconds; 0 means "none". Flags are BOOLEAN (stored as 0/1 by SQLite).

CREATE TABLE teams (
	id                 TEXT PRIMARY KEY,
	name               TEXT NOT NULL,
	products           TEXT NOT NULL DEFAULT '[]', -- JSON array of product ids; [] = all, including later ones
	threshold_absolute BIGINT NOT NULL DEFAULT 0,
	threshold_percent  BIGINT NOT NULL DEFAULT 0,
	webhook            TEXT NOT NULL DEFAULT '',
	debt               BIGINT NOT NULL DEFAULT 0,
	low                BOOLEAN NOT NULL DEFAULT FALSE,
	empty              BOOLEAN NOT NULL DEFAULT FALSE,
	created            BIGINT NOT NULL
);

CREATE TABLE packs (
	id              TEXT PRIMARY KEY,
	team            TEXT NOT NULL REFERENCES teams (id),
	tokens          BIGINT NOT NULL CHECK (tokens >= 100),
	left_tokens     BIGINT NOT NULL CHECK (left_tokens >= 0),
	bought          BIGINT NOT NULL,
	expires         BIGINT NOT NULL,
	expiry_notified BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX packs_team ON packs (team, expires);

CREATE TABLE products (
	id    TEXT PRIMARY KEY,
	name  TEXT NOT NULL,
	rate  BIGINT NOT NULL CHECK (rate > 0),
	added BIGINT NOT NULL
);

CREATE TABLE users (
	id       TEXT PRIMARY KEY,
	team     TEXT NOT NULL REFERENCES teams (id),
	assigned BOOLEAN NOT NULL,
	products TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX users_team ON users (team);

CREATE TABLE subscriptions (
	id          {{serial}},
	user_id     TEXT NOT NULL REFERENCES users (id),
	product     TEXT NOT NULL REFERENCES products (id),
	valid_from  BIGINT NOT NULL,
	valid_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_user ON subscriptions (user_id);

CREATE TABLE enroll_tokens (
	hash    TEXT PRIMARY KEY,
	team    TEXT NOT NULL REFERENCES teams (id),
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL
);

CREATE TABLE devices (
	id         TEXT PRIMARY KEY,
	team       TEXT NOT NULL REFERENCES teams (id),
	name       TEXT NOT NULL,
	credential TEXT NOT NULL UNIQUE, -- SHA-256 of the bearer token
	enrolled   BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL
);
CREATE INDEX devices_team ON devices (team);

CREATE TABLE admin_tokens (
	hash    TEXT PRIMARY KEY,
	team    TEXT NOT NULL DEFAULT '', -- '' = every team
	name    TEXT NOT NULL,
	created BIGINT NOT NULL
);

CREATE TABLE holds (
	team    TEXT NOT NULL REFERENCES teams (id),
	id      TEXT NOT NULL, -- device id, NUL, the device's name for the hold
	device  TEXT NOT NULL,
	user_id TEXT NOT NULL,
	product TEXT NOT NULL,
	tokens  BIGINT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (team, id)
);

-- One row per paid window; the key is unique forever (rule 5).
CREATE TABLE charges (
	team     TEXT NOT NULL REFERENCES teams (id),
	user_id  TEXT NOT NULL,
	product  TEXT NOT NULL,
	start    BIGINT NOT NULL,
	tokens   BIGINT NOT NULL,
	device   TEXT NOT NULL,
	event_id TEXT NOT NULL,
	renewal  BOOLEAN NOT NULL,
	received BIGINT NOT NULL,
	PRIMARY KEY (team, user_id, product, start)
);

-- Every event a device sent, with the answer it got.
CREATE TABLE events (
	device    TEXT NOT NULL,
	id        TEXT NOT NULL,
	team      TEXT NOT NULL,
	kind      TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	product   TEXT NOT NULL,
	happened  BIGINT NOT NULL,
	key_start BIGINT NOT NULL,
	tokens    BIGINT NOT NULL,
	use_ns    BIGINT NOT NULL,
	reason    TEXT NOT NULL,
	status    TEXT NOT NULL,
	code      TEXT NOT NULL,
	message   TEXT NOT NULL,
	received  BIGINT NOT NULL,
	PRIMARY KEY (device, id)
);
CREATE INDEX events_team ON events (team, happened);

-- Append-only: a pack's tokens left is the sum of its rows, a team's debt the sum of
-- its debt column. Corrections are new rows.
CREATE TABLE movements (
	id       {{serial}},
	team     TEXT NOT NULL,
	pack     TEXT NOT NULL DEFAULT '',
	kind     TEXT NOT NULL,
	tokens   BIGINT NOT NULL,
	debt     BIGINT NOT NULL DEFAULT 0,
	happened BIGINT NOT NULL,
	ref      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX movements_team ON movements (team, id);

-- An outbox: written in the transaction that caused the notice, delivered later.
CREATE TABLE notifications (
	id           {{serial}},
	team         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	payload      TEXT NOT NULL,
	created      BIGINT NOT NULL,
	next_attempt BIGINT NOT NULL,
	attempts     BIGINT NOT NULL DEFAULT 0,
	delivered    BIGINT NOT NULL DEFAULT 0,
	gave_up      BOOLEAN NOT NULL DEFAULT FALSE,
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_due ON notifications (delivered, next_attempt);
