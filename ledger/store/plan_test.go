package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/store"
)

// plan is the database's query plan for q, one line per node.
func plan(t *testing.T, db *store.DB, q string, args ...any) string {
	t.Helper()
	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect() == store.Postgres {
		prefix = "EXPLAIN "
		n := 0
		var b strings.Builder
		for _, r := range q {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		q = b.String()
	}
	rows, err := db.SQL().QueryContext(context.Background(), prefix+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(out, "\n")
}

// TestReportPlans checks, on a team with a long history of one user's charges, that the
// window query (the user's latest window of each product, which every authorize and
// snapshot reads) reads through the key of latest_windows, with no sort, and the report
// queries through an index range of their span, never a scan of the whole table. (A
// report may sort the rows it shows, or its groups: PostgreSQL's choice by size.)
func TestReportPlans(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db, 100)
		// 20,000 charges of mary's over 55 years' worth of windows, five products a day,
		// written directly: the plan depends on the table's size, not on how it was filled.
		ins := `INSERT INTO charges (team, user_id, product, start, tokens, device, event_id, renewal, received)
			SELECT 'studio', 'mary', 'p' || (i % 5), ? + (i / 5) * ?, 10, 'dv_1', 'e' || i, FALSE, 0 FROM gen i`
		gen := `WITH RECURSIVE gen(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM gen WHERE i < 19999) `
		// And 4,000 other users' one window of each product.
		others := `INSERT INTO charges (team, user_id, product, start, tokens, device, event_id, renewal, received)
			SELECT 'studio', 'u' || (i / 5), 'p' || (i % 5), ? + 0 * ?, 10, 'dv_1', 'o' || i, FALSE, 0 FROM gen i`
		mov := `INSERT INTO movements (team, pack, kind, tokens, debt, happened, ref)
			SELECT 'studio', '', 'debit', 0, 0, ? + i * ?, '' FROM gen i`
		if db.Dialect() == store.Postgres {
			gen = ""
			ins = strings.Replace(strings.Replace(ins, "FROM gen i", "FROM generate_series(0, 19999) i", 1), "? + (i / 5) * ?", "$1::bigint + (i / 5) * $2::bigint", 1)
			others = strings.Replace(strings.Replace(others, "FROM gen i", "FROM generate_series(0, 19999) i", 1), "? + 0 * ?", "$1::bigint + 0 * $2::bigint", 1)
			mov = strings.Replace(strings.Replace(mov, "FROM gen i", "FROM generate_series(0, 19999) i", 1), "? + i * ?", "$1::bigint + i * $2::bigint", 1)
		}
		old := t0.Add(-4000 * charge.Day)
		now := old.Add(3000 * charge.Day)
		// Movements a minute apart: one statement of movements over many days would cost
		// the checkpoint trigger a sum per day (migration 141).
		for _, q := range []struct {
			sql  string
			step time.Duration
		}{{gen + ins, charge.Day / 5}, {gen + others, 0}, {gen + mov, time.Minute}} {
			if _, err := db.SQL().ExecContext(ctx, q.sql, old.UnixNano(), int64(q.step)); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		// latest_windows as ingest keeps it (migration 191's derivation).
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO latest_windows (team, user_id, product, start, tokens, device)
			SELECT c.team, c.user_id, c.product, c.start, c.tokens, c.device FROM charges c
			WHERE c.start = (SELECT MAX(m.start) FROM charges m WHERE m.team = c.team AND m.user_id = c.user_id AND m.product = c.product)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		day := now.Add(-charge.Day).UnixNano()
		mday := old.Add(5 * charge.Day).UnixNano() // a day of the movements
		// The query entitlement() in agent.go runs for every authorize and snapshot: it reads
		// the user's row of each product in latest_windows, through its key, never the
		// user's history nor every user's rows.
		key := "sqlite_autoindex_latest_windows_1"
		if db.Dialect() == store.Postgres {
			key = "latest_windows_pkey"
		}
		tests := []struct {
			name, q string
			args    []any
			indexes []string // any of them
			span    bool     // may sort what it shows, never more
		}{
			{"open windows", store.WindowsQuery, []any{"studio", "mary", day}, []string{key}, false},
			{"daily", store.DailyQuery, []any{"studio", day, now.UnixNano()}, []string{"charges_team_start"}, true},
			{"history", store.HistoryQuery + " ORDER BY happened, id", []any{"studio", mday, mday + int64(charge.Day)}, []string{"movements_team_happened"}, true},
			{"opening", store.OpeningQuery, []any{"studio", mday, mday + int64(charge.Day)}, []string{"movements_team_happened"}, true},
		}
		for _, tt := range tests {
			p := plan(t, db, tt.q, tt.args...)
			if !slices.ContainsFunc(tt.indexes, func(i string) bool { return strings.Contains(p, i) }) {
				t.Errorf("%s: plan does not use %s; got:\n%s", tt.name, strings.Join(tt.indexes, " or "), p)
			}
			bads := []string{"Sort", "TEMP B-TREE", "Seq Scan", "SCAN charges", "SCAN movements", "SCAN latest_windows"}
			if tt.span {
				bads = bads[2:]
			}
			for _, bad := range bads {
				if strings.Contains(p, bad) {
					t.Errorf("%s: plan has %q; got:\n%s", tt.name, bad, p)
				}
			}
		}
	})
}
