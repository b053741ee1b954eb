-- Rule 13: caps on the tokens a team, or one user or one product of it, may start charges
-- for in a UTC day or a UTC calendar month. user_id and product are '' when not capped
-- by them (both '' for a team cap).
CREATE TABLE budgets (
	team         TEXT NOT NULL REFERENCES teams (id),
	user_id      TEXT NOT NULL,
	product      TEXT NOT NULL,
	period       TEXT NOT NULL,
	tokens       BIGINT NOT NULL,
	noticed_from BIGINT NOT NULL DEFAULT 0, -- the start of the period of the last notice
	noticed      BIGINT NOT NULL DEFAULT 0, -- the highest level (80, 100) told in that period
	PRIMARY KEY (team, user_id, product, period)
);

-- A one-off extension of a scope's caps (day and month alike) until a time; a new one
-- replaces the scope's earlier one.
CREATE TABLE budget_extensions (
	team    TEXT NOT NULL REFERENCES teams (id),
	user_id TEXT NOT NULL,
	product TEXT NOT NULL,
	tokens  BIGINT NOT NULL,
	until   BIGINT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (team, user_id, product)
);
