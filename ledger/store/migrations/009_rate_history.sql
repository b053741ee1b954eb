-- Every rate a product has had and since when: a charge must be the rate in force at
-- its window's start. Products that exist already start their history with their
-- present rate, from when they were added.
CREATE TABLE product_rates (
	product TEXT NOT NULL REFERENCES products (id),
	since   BIGINT NOT NULL,
	rate    BIGINT NOT NULL CHECK (rate > 0),
	PRIMARY KEY (product, since)
);
INSERT INTO product_rates (product, since, rate) SELECT id, added, rate FROM products;
