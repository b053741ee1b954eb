-- Idle-aware renewal (rule 4, renewal_when_idle). A charge's idle is why a renewal was
-- charged while nobody used the product: 'idle' (renewed as idle, or touched too late),
-- 'stayed_open' (asked to close, it stayed open); '' for every other charge.
ALTER TABLE charges ADD COLUMN idle TEXT NOT NULL DEFAULT '';

-- A window not opened because its product, idle at the renewal, closed: tokens is what
-- the renewal would have cost. Keyed like a charge, so a retry or a replay counts once.
CREATE TABLE idle_saved (
	team     TEXT NOT NULL,
	user_id  TEXT NOT NULL,
	product  TEXT NOT NULL,
	start    BIGINT NOT NULL,
	tokens   BIGINT NOT NULL,
	device   TEXT NOT NULL,
	happened BIGINT NOT NULL,
	received BIGINT NOT NULL,
	PRIMARY KEY (team, user_id, product, start)
);
