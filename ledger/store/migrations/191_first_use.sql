-- Ingest on a ledger of a year cost 1.4x to 1.7x its small ledger's on SQLite (issue 15):
-- a batch's rows landed in two indexes keyed by user, each a million entries wide, so a
-- batch of 25 charges dirtied some hundred more pages than on a small ledger (WAL frames
-- per batch: 198 against 62; after this migration 82 to 101 against 49 to 58). Both are
-- replaced by something whose size does not grow with the history:
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

-- On SQLite the window query reads a user's charges that may still be open through the
-- primary key (team, user_id, product, start), one range per product of the catalogue,
-- instead of migration 141's charges_team_user_start, which repeated the key's first
-- columns. PostgreSQL keeps it: an index entry costs its write-ahead log a few bytes, not
-- a page, and one range of it is cheaper for a launch than a range per product.
{{if .SQLite}}
DROP INDEX charges_team_user_start;
{{end}}
