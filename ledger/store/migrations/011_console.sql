-- The admin console's money and grouping (issue 12). Numbered well above the others so
-- that migrations added meanwhile on other branches keep their numbers.

-- A team's currency and optional token price, in thousandths of it (0: no token price).
CREATE TABLE team_prices (
	team        TEXT PRIMARY KEY REFERENCES teams (id),
	currency    TEXT NOT NULL,
	token_milli BIGINT NOT NULL CHECK (token_milli >= 0)
);

-- What a subscription to a product costs a team a month, entered by its admin, in
-- thousandths of the team's currency: the advisor's other side.
CREATE TABLE subscription_prices (
	team        TEXT NOT NULL REFERENCES teams (id),
	product     TEXT NOT NULL REFERENCES products (id),
	month_milli BIGINT NOT NULL CHECK (month_milli > 0),
	PRIMARY KEY (team, product)
);

-- Cost centres or project tags on users, for totals per tag.
CREATE TABLE user_tags (
	team    TEXT NOT NULL REFERENCES teams (id),
	user_id TEXT NOT NULL REFERENCES users (id),
	tag     TEXT NOT NULL,
	PRIMARY KEY (team, user_id, tag)
);
