-- PostgreSQL plans the checkpoint trigger's INSERT with the cost of its fallback branch
-- (a team's whole history summed, for a day with no checkpoint before it; never run once
-- a team has one), which on a ledger of a year passes jit_above_cost: every movement
-- statement then spent 200 to 300 ms compiling a plan that runs in under a millisecond
-- (BenchmarkBigLedger, ingest 25x its empty ledger's). The trigger's statements are
-- small; they run without JIT.
{{if .SQLite}}
SELECT 1;
{{else}}
ALTER FUNCTION movements_checkpoint() SET jit = off;
{{end}}
