package ledger_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// BenchmarkBigLedger compares, in one run, a ledger holding a year of a 1,000-user
// studio's charges (1,000,000 by default; TOLLGATE_BENCH_CHARGES sets another number)
// with a ledger holding only the last day of them, on the same requests over HTTP:
// the tokens report of one day and of a year (its daily and history sections, streamed
// as CSV), per row returned; an authorize; an ingest of 100 events. It reports each
// figure of both and their ratios (big over small). On demand, not in CI:
//
//	scripts/bench-reports
func BenchmarkBigLedger(b *testing.B) {
	total := 1_000_000
	if v := os.Getenv("TOLLGATE_BENCH_CHARGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < days {
			b.Fatalf("TOLLGATE_BENCH_CHARGES=%q: want a number of charges, at least %d", v, days)
		}
		total = n
	}
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			gen := time.Now()
			big := bigEnv(b, kind, total, 0)
			fixture := time.Since(gen)
			small := bigEnv(b, kind, total, days-1)
			b.ResetTimer()
			for range b.N {
				lastDay := fixtureDay(days - 1)
				day := fmt.Sprintf("from=%s&to=%s", lastDay.Format(time.RFC3339), lastDay.Add(charge.Day).Format(time.RFC3339))
				year := fmt.Sprintf("from=%s&to=%s", fixtureNow.Add(-365*charge.Day).Format(time.RFC3339), fixtureNow.Format(time.RFC3339))
				for _, r := range []struct {
					name, span string
					reps       int
				}{{"day", day, 15}, {"year", year, 2}} {
					var bigNS, smallNS []float64
					// A first read of each, untimed: connections and prepared statements.
					_, bigRows := tokensCSV(b, big, r.span)
					_, smallRows := tokensCSV(b, small, r.span)
					for range r.reps {
						var d time.Duration
						d, bigRows = tokensCSV(b, big, r.span)
						bigNS = append(bigNS, float64(d)/float64(bigRows))
						d, smallRows = tokensCSV(b, small, r.span)
						smallNS = append(smallNS, float64(d)/float64(smallRows))
					}
					bm, sm := median(bigNS), median(smallNS)
					b.ReportMetric(float64(bigRows), r.name+"-rows")
					b.ReportMetric(float64(smallRows), r.name+"-rows-small")
					b.ReportMetric(bm, r.name+"-ns/row")
					b.ReportMetric(sm, r.name+"-ns/row-small")
					b.ReportMetric(bm/sm, r.name+"-x")
				}
				var bigA, smallA, bigI, smallI []float64
				authorizeOnce(b, big, 499)
				authorizeOnce(b, small, 499)
				for i := range 40 {
					bigA = append(bigA, authorizeOnce(b, big, i))
					smallA = append(smallA, authorizeOnce(b, small, i))
				}
				for i := range 30 { // 750 charges: one per user, every key new
					bigI = append(bigI, ingestOnce(b, big, i))
					smallI = append(smallI, ingestOnce(b, small, i))
				}
				b.ReportMetric(median(bigA)/1e6, "authorize-ms")
				b.ReportMetric(median(smallA)/1e6, "authorize-ms-small")
				b.ReportMetric(median(bigA)/median(smallA), "authorize-x")
				b.ReportMetric(median(bigI)/1e6, "ingest-ms")
				b.ReportMetric(median(smallI)/1e6, "ingest-ms-small")
				b.ReportMetric(median(bigI)/median(smallI), "ingest-x")
			}
			b.ReportMetric(fixture.Seconds(), "fixture-s") // after ResetTimer, which clears metrics
		})
	}
}

// The fixture's year: days of charges from fixtureStart, the ledger's clock at
// fixtureNow, after the last window ended.
const days = 360

var (
	fixtureStart = bought.Truncate(charge.Day).Add(charge.Day)
	fixtureNow   = fixtureDay(days + 1).Add(time.Hour) // every window ended; the pack live
	products     = []string{"revit", "autocad", "maya"}
	rates        = map[string]int64{"revit": 10, "autocad": 7, "maya": 12}
)

func fixtureDay(d int) time.Time { return fixtureStart.Add(time.Duration(d) * charge.Day) }

type bigLedger struct {
	*env
	dev *client.Client
	gen int // ingest batches sent
}

// bigEnv is a served ledger with team "studio", 1,000 users, products revit, autocad and
// maya, a pack of a billion tokens bought before the fixture's year, and the charges
// numbered from the fixture's total that fall on days from firstDay on: each with its
// debit movement and its device's event, as ingest writes them.
func bigEnv(b *testing.B, kind string, total, firstDay int) *bigLedger {
	e := start(b, kind)
	e.clock.Set(fixtureStart.Add(-time.Hour))
	dev := e.studio(b, "studio", charge.MaxPack)
	do(b, e.super, "PUT", "/v1/admin/products/maya", api.Product{Rate: 12}, nil)
	users(b, e.db, "studio", 1000)
	var packs []api.Pack
	do(b, e.super, "GET", "/v1/admin/teams/studio/packs", nil, &packs)
	perDay := (total + days - 1) / days
	fillFixture(b, e.db, packs[0].ID, total, perDay, firstDay)
	e.clock.Set(fixtureNow)
	return &bigLedger{env: e, dev: dev}
}

// fixtureRow is the i-th charge of the fixture: the i%perDay-th slot of day i/perDay,
// a user and product of its own that day, its window starting 20 s after the one before.
func fixtureRow(i, perDay int) (user, product string, start time.Time, tokens int64) {
	slot := i % perDay
	user = fmt.Sprint("u", slot%1000)
	product = products[(slot/1000)%len(products)]
	start = fixtureDay(i / perDay).Add(time.Duration(slot) * 20 * time.Second)
	return user, product, start, rates[product]
}

func fillFixture(b *testing.B, db *store.DB, pack string, total, perDay, firstDay int) {
	ctx := context.Background()
	first := firstDay * perDay
	var debited int64
	for i := first; i < total; i++ {
		_, _, _, t := fixtureRow(i, perDay)
		debited += t
	}
	if db.Dialect() == store.Postgres {
		pgFixture(b, db, pack, first, total, perDay)
	} else {
		sqliteFixture(b, db, pack, first, total, perDay)
	}
	q := `UPDATE packs SET left_tokens = left_tokens - ? WHERE id = ?`
	if db.Dialect() == store.Postgres {
		q = `UPDATE packs SET left_tokens = left_tokens - $1 WHERE id = $2`
	}
	if _, err := db.SQL().ExecContext(ctx, q, debited, pack); err != nil {
		b.Fatal(err)
	}
	// Each user's latest window of each product, as ingest keeps it (migration 191).
	for _, q := range []string{`INSERT INTO latest_windows (team, user_id, product, start, tokens, device)
		SELECT c.team, c.user_id, c.product, c.start, c.tokens, c.device FROM charges c
		WHERE c.start = (SELECT MAX(m.start) FROM charges m WHERE m.team = c.team AND m.user_id = c.user_id AND m.product = c.product)`,
		`ANALYZE latest_windows`} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// pgFixture loads the rows with COPY, the checkpoint trigger off (one statement over a
// year of days), then fills the checkpoints and updates the planner's statistics as
// autovacuum would.
func pgFixture(b *testing.B, db *store.DB, pack string, first, total, perDay int) {
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	n := total - first
	err = conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		if _, err := c.Exec(ctx, `ALTER TABLE movements DISABLE TRIGGER movements_checkpoint`); err != nil {
			return err
		}
		if _, err := c.CopyFrom(ctx, pgx.Identifier{"charges"}, []string{"team", "user_id", "product", "start", "tokens", "device", "event_id", "renewal", "received"},
			pgx.CopyFromFunc(rowsOf(first, total, perDay, func(i int, user, product string, start time.Time, tokens int64) []any {
				return []any{"studio", user, product, start.UnixNano(), tokens, "dv_fixture", fmt.Sprint("f", i), false, start.Add(charge.Grace).UnixNano()}
			}))); err != nil {
			return fmt.Errorf("copy charges: %w", err)
		}
		if _, err := c.CopyFrom(ctx, pgx.Identifier{"movements"}, []string{"team", "pack", "kind", "tokens", "debt", "happened", "ref"},
			pgx.CopyFromFunc(rowsOf(first, total, perDay, func(i int, user, product string, start time.Time, tokens int64) []any {
				k := charge.Key{Team: "studio", User: user, Product: product, Start: start}
				return []any{"studio", pack, api.MoveDebit, -tokens, int64(0), start.Add(charge.Grace).UnixNano(), k.String()}
			}))); err != nil {
			return fmt.Errorf("copy movements: %w", err)
		}
		if _, err := c.CopyFrom(ctx, pgx.Identifier{"events"}, eventCols,
			pgx.CopyFromFunc(rowsOf(first, total, perDay, eventRow))); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		_, err := c.Exec(ctx, `ALTER TABLE movements ENABLE TRIGGER movements_checkpoint`)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.RebuildCheckpoints(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("postgres fixture: %d charges", n)
}

var eventCols = []string{"device", "id", "team", "kind", "user_id", "product", "happened", "key_start", "tokens", "use_ns", "reason", "status", "code", "message", "received"}

func eventRow(i int, user, product string, start time.Time, tokens int64) []any {
	at := start.Add(charge.Grace).UnixNano()
	return []any{"dv_fixture", fmt.Sprint("f", i), "studio", string(charge.Charged), user, product, at, start.UnixNano(), tokens, int64(0), "", api.Accepted, "", "", at}
}

// rowsOf feeds COPY the fixture's rows first to total, made by row.
func rowsOf(first, total, perDay int, row func(i int, user, product string, start time.Time, tokens int64) []any) func() ([]any, error) {
	i := first
	return func() ([]any, error) {
		if i >= total {
			return nil, nil
		}
		u, p, s, t := fixtureRow(i, perDay)
		r := row(i, u, p, s, t)
		i++
		return r, nil
	}
}

// sqliteFixture inserts the rows in one transaction with prepared statements, through
// the checkpoint trigger as the ledger's own writes go.
func sqliteFixture(b *testing.B, db *store.DB, pack string, first, total, perDay int) {
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	prep := func(q string) *sql.Stmt {
		s, err := tx.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	ch := prep(`INSERT INTO charges (team, user_id, product, start, tokens, device, event_id, renewal, received) VALUES ('studio', ?, ?, ?, ?, 'dv_fixture', ?, FALSE, ?)`)
	mv := prep(`INSERT INTO movements (team, pack, kind, tokens, debt, happened, ref) VALUES ('studio', ?, ?, ?, 0, ?, ?)`)
	ev := prep(`INSERT INTO events (device, id, team, kind, user_id, product, happened, key_start, tokens, use_ns, reason, status, code, message, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	for i := first; i < total; i++ {
		u, p, s, t := fixtureRow(i, perDay)
		at := s.Add(charge.Grace).UnixNano()
		k := charge.Key{Team: "studio", User: u, Product: p, Start: s}
		if _, err := ch.Exec(u, p, s.UnixNano(), t, fmt.Sprint("f", i), at); err != nil {
			b.Fatal(err)
		}
		if _, err := mv.Exec(pack, api.MoveDebit, -t, at, k.String()); err != nil {
			b.Fatal(err)
		}
		if _, err := ev.Exec(eventRow(i, u, p, s, t)...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// tokensCSV reads the daily and history sections of the tokens report over span, as
// CSV streamed, and returns the time taken and the rows read.
func tokensCSV(b *testing.B, l *bigLedger, span string) (time.Duration, int) {
	ctx := context.Background()
	t0 := time.Now()
	rows := 0
	for _, section := range []string{"daily", "history"} {
		body, err := l.super.Stream(ctx, "/v1/admin/teams/studio/reports/tokens?format=csv&section="+section+"&"+span)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(body)
		r.ReuseRecord = true
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		body.Close()
		rows-- // the header
	}
	return time.Since(t0), rows
}

// authorizeOnce times one launch of a user whose last window ended a day ago, then
// releases its hold (untimed), so that every authorize decides the same way.
func authorizeOnce(b *testing.B, l *bigLedger, i int) float64 {
	ctx := context.Background()
	t0 := time.Now()
	a, err := l.dev.Authorize(ctx, fmt.Sprint("u", 500+i%500), "revit", "") // ingestOnce charges u0...
	d := time.Since(t0)
	if err != nil || a.Decision.Reason != charge.InGrace {
		b.Fatalf("authorize %d: %v %+v", i, err, a.Decision)
	}
	if err := l.dev.Release(ctx, a.Hold); err != nil {
		b.Fatal(err)
	}
	return float64(d)
}

// ingestOnce times one batch of 100 events: 25 new charges, each with a session opened
// and ended and one more opened.
func ingestOnce(b *testing.B, l *bigLedger, n int) float64 {
	l.gen++
	batch := make([]api.Event, 0, 100)
	for j := range 25 {
		k := (l.gen-1)*25 + j
		user := fmt.Sprint("u", k%1000)
		st := fixtureNow.Add(-time.Duration(k%50) * time.Minute)
		id := fmt.Sprint("b", k)
		batch = append(batch, charged(id+"c", "studio", user, "revit", st, 10, ""),
			api.Event{ID: id + "o", Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "revit", Reason: charge.InGrace}},
			api.Event{ID: id + "p", Effect: charge.Effect{Kind: charge.Opened, At: st, User: user, Product: "maya", Reason: charge.PaidWindow}},
			api.Event{ID: id + "x", Effect: charge.Effect{Kind: charge.Ended, At: st.Add(time.Minute), User: user, Product: "revit", Use: time.Minute}})
	}
	t0 := time.Now()
	rs, err := l.dev.Ingest(context.Background(), batch)
	d := time.Since(t0)
	if err != nil || rs[0].Status != api.Accepted {
		b.Fatalf("batch %d: %v %+v", n, err, rs)
	}
	return float64(d)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
