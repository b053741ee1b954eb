-- Ingest on a ledger of a year cost 1.4x to 1.7x its small ledger's on SQLite (issue 15):
-- a batch's rows landed in two indexes keyed by user, each a million entries wide, so a
-- batch of 25 charges dirtied some hundred more pages than on a small ledger (WAL frames
-- per batch: 198 against 62). Both are replaced by something whose size does not grow
-- with the history:
--
-- The advisor's first use of each (user, product) is a row of its own, kept by ingest
-- (it only ever moves earlier), instead of a partial index over every opened and charged
-- event (migration 151's events_first_use).
CREATE TABLE first_use (
	team     TEXT NOT NULL,
	user_id  TEXT NOT NULL,
	product  TEXT NOT NULL,
	happened BIGINT NOT NULL,
	PRIMARY KEY (team, user_id, product)
);
INSERT INTO first_use (team, user_id, product, happened)
	SELECT team, user_id, product, MIN(happened) FROM events
	WHERE kind IN ('opened', 'charged') GROUP BY team, user_id, product;
DROP INDEX events_first_use;

-- The window query (every launch and snapshot) reads a user's latest paid window of each
-- product from a row of its own, kept by ingest, instead of migration 141's
-- charges_team_user_start: a user's windows of one product never overlap (rule 5 folds an
-- overlapping charge into the window paid first), so the only one of a product that can
-- have started within the last day is the latest. The launch then reads a table as small
-- as users times products, in memory, not a page of an index as wide as the history.
CREATE TABLE latest_windows (
	team    TEXT NOT NULL,
	user_id TEXT NOT NULL,
	product TEXT NOT NULL,
	start   BIGINT NOT NULL,
	tokens  BIGINT NOT NULL,
	device  TEXT NOT NULL,
	PRIMARY KEY (team, user_id, product)
);
INSERT INTO latest_windows (team, user_id, product, start, tokens, device)
	SELECT c.team, c.user_id, c.product, c.start, c.tokens, c.device FROM charges c
	WHERE c.start = (SELECT MAX(m.start) FROM charges m WHERE m.team = c.team AND m.user_id = c.user_id AND m.product = c.product);
DROP INDEX charges_team_user_start;
