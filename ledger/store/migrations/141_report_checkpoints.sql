-- Reports in time proportional to what they show (issue 15): the report and window
-- queries read through indexes, and a report's opening balance starts from a stored
-- checkpoint instead of summing the team's whole history.

-- The tokens report's daily section reads a team's charges by start.
CREATE INDEX charges_team_start ON charges (team, start);
-- The entitlement window query (authorize, every snapshot) reads one user's charges that
-- started within the last day, over every product: without this it reads the user's
-- whole history through the primary key and sorts it.
CREATE INDEX charges_team_user_start ON charges (team, user_id, start);
-- The tokens report's history and opening balance read a team's movements by time, in
-- the order they are shown.
CREATE INDEX movements_team_happened ON movements (team, happened, id);

-- balance is the sum of (tokens - debt) over the team's movements that happened before
-- day (a UTC midnight, Unix ns). A team has one row for every day on which a movement
-- happened, written by the trigger below in the transaction of that day's first
-- movement; a movement that happens before a later checkpoint (a ledger whose clock was
-- behind another's) adds itself to every checkpoint after it in the same statement, so
-- a checkpoint always equals the sum from the start, exactly.
CREATE TABLE balance_checkpoints (
	team    TEXT NOT NULL,
	day     BIGINT NOT NULL,
	balance BIGINT NOT NULL,
	PRIMARY KEY (team, day)
);

INSERT INTO balance_checkpoints (team, day, balance)
SELECT team, day, SUM(net) OVER (PARTITION BY team ORDER BY day) - net
FROM (SELECT team, happened - happened % 86400000000000 AS day, SUM(tokens - debt) AS net
	FROM movements GROUP BY team, happened - happened % 86400000000000) d;

-- Every movement is written under its team's row lock, so two transactions never create
-- one team's checkpoint at once.
{{if .SQLite}}
-- SQLite runs the trigger before each row, so that in a statement inserting several
-- movements it sees exactly the rows whose own trigger has run.
CREATE TRIGGER movements_checkpoint BEFORE INSERT ON movements
BEGIN
	INSERT INTO balance_checkpoints (team, day, balance)
	SELECT NEW.team, NEW.happened - NEW.happened % 86400000000000, COALESCE((
		SELECT c.balance + COALESCE((SELECT SUM(m.tokens - m.debt) FROM movements m
			WHERE m.team = NEW.team AND m.happened >= c.day AND m.happened < NEW.happened - NEW.happened % 86400000000000), 0)
		FROM balance_checkpoints c
		WHERE c.team = NEW.team AND c.day < NEW.happened - NEW.happened % 86400000000000
		ORDER BY c.day DESC LIMIT 1), 0)
	WHERE NOT EXISTS (SELECT 1 FROM balance_checkpoints
		WHERE team = NEW.team AND day = NEW.happened - NEW.happened % 86400000000000);
	UPDATE balance_checkpoints SET balance = balance + NEW.tokens - NEW.debt
	WHERE team = NEW.team AND day > NEW.happened;
END;
{{else}}
-- PostgreSQL runs it once per statement over the statement's new rows (a batch of
-- movements costs two statements, not two per row): first the checkpoints that exist
-- take the new movements before their day; then each day with a new movement and no
-- checkpoint gets one, from the last checkpoint before it (just brought up to date)
-- plus every movement since, the new ones included. The ledger stamps movements with
-- its own time, so a statement's movements fall within a day; a bulk load of many days
-- in one statement costs a sum per day (load it with the trigger off, then fill the
-- checkpoints as above).
CREATE FUNCTION movements_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE balance_checkpoints c SET balance = c.balance + n.net
	FROM (SELECT l.team, l.day, SUM(m.tokens - m.debt) AS net
		FROM new_movements m
		CROSS JOIN LATERAL (SELECT team, day FROM balance_checkpoints
			WHERE team = m.team AND day > m.happened) l
		GROUP BY l.team, l.day) n
	WHERE c.team = n.team AND c.day = n.day;
	INSERT INTO balance_checkpoints (team, day, balance)
	SELECT d.team, d.day, COALESCE(
		(SELECT c.balance + COALESCE((SELECT SUM(m.tokens - m.debt) FROM movements m
				WHERE m.team = d.team AND m.happened >= c.day AND m.happened < d.day), 0)
			FROM balance_checkpoints c WHERE c.team = d.team AND c.day < d.day
			ORDER BY c.day DESC LIMIT 1),
		-- No checkpoint before: every movement before the day is new.
		(SELECT COALESCE(SUM(m.tokens - m.debt), 0) FROM movements m
			WHERE m.team = d.team AND m.happened < d.day))
	FROM (SELECT DISTINCT team, happened - happened % 86400000000000 AS day FROM new_movements) d
	WHERE NOT EXISTS (SELECT 1 FROM balance_checkpoints c WHERE c.team = d.team AND c.day = d.day);
	RETURN NULL;
END
$$;
CREATE TRIGGER movements_checkpoint AFTER INSERT ON movements
	REFERENCING NEW TABLE AS new_movements
	FOR EACH STATEMENT EXECUTE FUNCTION movements_checkpoint();
{{end}}
