package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// BenchmarkIngestBatch applies batches of 100 events (25 charges, 75 session events)
// from one device straight to the store and reports events per second, the statements
// and (PostgreSQL) the round trips per batch, beside two floors measured in the same
// run on the same database: the same rows written by one multi-row INSERT per batch
// into a plain table (the floor a batched ingest can approach), and one row per
// autocommit INSERT (what an unbatched ingest is bound by).
//
//	go test -run '^$' -bench IngestBatch -benchtime 100x ./ledger/store/
//	./scripts/bench-ingest   (PostgreSQL with its default settings: fsync on)
func BenchmarkIngestBatch(b *testing.B) {
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			url := storetest.URL(b, kind)
			var rt roundTrips
			var db *store.DB
			var err error
			if kind == "postgres" {
				db, err = store.OpenTraced(ctx, url, &rt)
			} else {
				db, err = store.Open(ctx, url)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			benchStudio(b, db, 1000)
			var stmts atomic.Int64
			db.CountStatements(&stmts)
			base := t0.Add(time.Hour)
			now := base.Add(30 * charge.Day) // the pack is live: charges are paid, not overdrawn
			batches := make([][]api.Event, b.N)
			for n := range b.N {
				batches[n] = benchBatch(n, base)
			}
			// One batch first, so that PostgreSQL's statements are prepared on the
			// connection as they are on a ledger that has run for a while.
			if _, err := db.Ingest(ctx, "studio", "dv_warm", benchBatch(b.N, base), now); err != nil {
				b.Fatal(err)
			}
			stmts.Store(0)
			rt.n.Store(0)
			b.ResetTimer()
			t := time.Now()
			for n := range b.N {
				rs, err := db.Ingest(ctx, "studio", "dv_bench", batches[n], now)
				if err != nil || rs[0].Status != api.Accepted {
					b.Fatalf("batch %d: %v %+v", n, err, rs[0])
				}
			}
			took := time.Since(t)
			b.StopTimer()
			rate := float64(b.N*100) / took.Seconds()
			perStmts, perTrips := float64(stmts.Load())/float64(b.N), float64(rt.n.Load())/float64(b.N)
			multi := floorBatches(b, db, batches)
			rows := floorRows(b, db, 2000)
			b.ReportMetric(rate, "events/s")
			b.ReportMetric(perStmts, "stmts/batch")
			if kind == "postgres" {
				b.ReportMetric(perTrips, "roundtrips/batch")
			}
			b.ReportMetric(multi, "floor-events/s")
			b.ReportMetric(rate/multi, "x-floor")
			b.ReportMetric(rows, "row-floor-events/s")
			b.ReportMetric(rate/rows, "x-row-floor")
		})
	}
}

// roundTrips counts what pgx sends to the server: queries (BEGIN and COMMIT among them)
// and prepares.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// benchStudio makes team studio with revit and maya, a billion tokens and n users.
func benchStudio(b testing.TB, db *store.DB, n int) {
	ctx := context.Background()
	if _, err := db.CreateTeam(ctx, api.NewTeam{ID: "studio"}, t0); err != nil {
		b.Fatal(err)
	}
	for _, p := range []api.Product{{ID: "revit", Rate: 10}, {ID: "maya", Rate: 12}} {
		if _, err := db.PutProduct(ctx, p, t0.Add(-400*charge.Day)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.BuyPack(ctx, "studio", api.BuyPack{Tokens: charge.MaxPack}, t0); err != nil {
		b.Fatal(err)
	}
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := tx.Exec(bind(db, `INSERT INTO users (id, team, assigned, products) VALUES (?, 'studio', TRUE, '[]')`), fmt.Sprint("u", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// benchBatch is the n-th batch: 25 users each charged for revit, opening maya in a
// paid window, and ending a session.
func benchBatch(n int, base time.Time) []api.Event {
	out := make([]api.Event, 0, 100)
	for j := range 25 {
		k := n*25 + j
		user := fmt.Sprint("u", k%1000)
		st := base.Add(time.Duration(k/1000) * charge.Day)
		out = append(out, chargeEvent(fmt.Sprint("c", k), user, "revit", st, 10),
			api.Event{ID: fmt.Sprint("o", k), Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "revit", Reason: charge.InGrace}},
			api.Event{ID: fmt.Sprint("p", k), Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "maya", Reason: charge.PaidWindow}},
			api.Event{ID: fmt.Sprint("x", k), Effect: charge.Effect{Kind: charge.Ended, At: st.Add(time.Hour), User: user, Product: "revit", Use: time.Hour}})
	}
	return out
}

var floorCols = []string{"device", "id", "team", "kind", "user_id", "product", "happened", "key_start", "tokens", "use_ns", "reason", "status", "code", "message", "received"}

// floorBatches writes the batches' events as rows of the events table's columns into a
// plain table, one multi-row INSERT per batch, and returns events per second.
func floorBatches(b *testing.B, db *store.DB, batches [][]api.Event) float64 {
	ctx := context.Background()
	sqlDB := db.SQL()
	if _, err := sqlDB.ExecContext(ctx, `CREATE TABLE floor_events (device TEXT, id TEXT, team TEXT, kind TEXT, user_id TEXT, product TEXT,
		happened BIGINT, key_start BIGINT, tokens BIGINT, use_ns BIGINT, reason TEXT, status TEXT, code TEXT, message TEXT, received BIGINT)`); err != nil {
		b.Fatal(err)
	}
	t := time.Now()
	n := 0
	for _, batch := range batches {
		q, args := floorInsert(db, batch)
		if _, err := sqlDB.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	return float64(n) / time.Since(t).Seconds()
}

func floorInsert(db *store.DB, batch []api.Event) (string, []any) {
	row := func(e api.Event) []any {
		return []any{"dv_bench", e.ID, "studio", string(e.Kind), e.User, e.Product, e.At.UnixNano(), e.Key.Start.UnixNano(),
			e.Tokens, int64(e.Use), string(e.Reason), api.Accepted, "", "", time.Now().UnixNano()}
	}
	q := `INSERT INTO floor_events (` + strings.Join(floorCols, ", ") + `) `
	if db.Dialect() == store.Postgres {
		// One array per column, as the store sends its batches.
		cols := make([][]any, len(floorCols))
		for _, e := range batch {
			for j, v := range row(e) {
				cols[j] = append(cols[j], v)
			}
		}
		args := make([]any, len(cols))
		casts := make([]string, len(cols))
		for j, c := range cols {
			switch c[0].(type) {
			case string:
				a := make([]string, len(c))
				for i, v := range c {
					a[i] = v.(string)
				}
				args[j], casts[j] = a, fmt.Sprintf("$%d::text[]", j+1)
			default:
				a := make([]int64, len(c))
				for i, v := range c {
					a[i] = v.(int64)
				}
				args[j], casts[j] = a, fmt.Sprintf("$%d::bigint[]", j+1)
			}
		}
		return q + `SELECT * FROM unnest(` + strings.Join(casts, ", ") + `)`, args
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(floorCols)), ", ") + ")"
	var args []any
	vals := make([]string, len(batch))
	for i, e := range batch {
		vals[i] = one
		args = append(args, row(e)...)
	}
	return q + `VALUES ` + strings.Join(vals, ", "), args
}

// floorRows is n one-row autocommit INSERTs of an event's columns, per second.
func floorRows(b *testing.B, db *store.DB, n int) float64 {
	ctx := context.Background()
	sqlDB := db.SQL()
	if _, err := sqlDB.ExecContext(ctx, `CREATE TABLE floor_rows AS SELECT * FROM floor_events WHERE 1 = 0`); err != nil {
		b.Fatal(err)
	}
	q := bind(db, `INSERT INTO floor_rows (`+strings.Join(floorCols, ", ")+`) VALUES (`+strings.TrimSuffix(strings.Repeat("?, ", len(floorCols)), ", ")+`)`)
	t := time.Now()
	for i := range n {
		if _, err := sqlDB.ExecContext(ctx, q, "dv_bench", fmt.Sprint("r", i), "studio", "opened", "u1", "revit", int64(i), int64(0), int64(0), int64(0), "grace", "accepted", "", "", int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(t).Seconds()
}

// bind turns ? placeholders into PostgreSQL's $n.
func bind(db *store.DB, q string) string {
	if db.Dialect() != store.Postgres {
		return q
	}
	var sb strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
