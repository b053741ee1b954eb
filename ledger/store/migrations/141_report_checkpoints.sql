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

-- The trigger runs BEFORE each row so that, in a statement inserting several movements,
-- it sees exactly the rows whose own trigger has run already (PostgreSQL runs row-level
-- AFTER triggers only when the whole statement is done). Every movement is written
-- under its team's row lock, so two transactions never create one team's checkpoint at
-- once.
{{if .SQLite}}
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
CREATE FUNCTION movements_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	d BIGINT := NEW.happened - NEW.happened % 86400000000000;
BEGIN
	INSERT INTO balance_checkpoints (team, day, balance)
	SELECT NEW.team, d, COALESCE((
		SELECT c.balance + COALESCE((SELECT SUM(m.tokens - m.debt) FROM movements m
			WHERE m.team = NEW.team AND m.happened >= c.day AND m.happened < d), 0)
		FROM balance_checkpoints c
		WHERE c.team = NEW.team AND c.day < d
		ORDER BY c.day DESC LIMIT 1), 0)
	WHERE NOT EXISTS (SELECT 1 FROM balance_checkpoints c WHERE c.team = NEW.team AND c.day = d);
	UPDATE balance_checkpoints SET balance = balance + NEW.tokens - NEW.debt
	WHERE team = NEW.team AND day > NEW.happened;
	RETURN NEW;
END
$$;
CREATE TRIGGER movements_checkpoint BEFORE INSERT ON movements
	FOR EACH ROW EXECUTE FUNCTION movements_checkpoint();
{{end}}
