-- The console's usage page over a year in well under its CSV's time (issue 12): the page
-- groups a span's sessions and charges in SQL (store.UsageTotals), and this index holds
-- every column that grouping and the advisor's (store.UseSummaries) read, ordered by UTC
-- day (the time in ns divided by a day's ns, as those queries write it) and product:
-- a span is one range of it, read from the index alone, and the tokens per day and
-- product come out in the index's order, with no sort.
CREATE INDEX events_usage ON events (team, (happened / 86400000000000), product, user_id, device, kind, status, reason, tokens, happened) WHERE kind IN ('opened', 'denied', 'ended', 'charged');
-- The idle renewals of a span (the usage page's idle table, the idle report) are a few
-- charges among a year's: this partial index holds them alone.
CREATE INDEX charges_idle ON charges (team, start) WHERE idle <> '';
