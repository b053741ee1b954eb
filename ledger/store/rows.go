package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Many rows in one statement: a batch costs one round trip per table, not one per row.
// PostgreSQL gets one array per column through unnest, so the statement's text is the
// same whatever the number of rows and pgx prepares it once per connection; SQLite, in
// process, gets a VALUES list.

// colType is a column's type as PostgreSQL's arrays name it.
type colType string

const (
	text    colType = "text"
	bigint  colType = "bigint"
	boolean colType = "boolean"
)

// column is a column of a multi-row statement.
type column struct {
	name string
	typ  colType
}

// table is rows of values for columns, each a string, int64 or bool as the column's type.
type table struct {
	cols []column
	rows [][]any
}

func newTable(cols ...column) *table { return &table{cols: cols} }

func (t *table) add(vals ...any) {
	if len(vals) != len(t.cols) {
		panic(fmt.Sprintf("store: %d values for %d columns", len(vals), len(t.cols)))
	}
	t.rows = append(t.rows, vals)
}

func (t *table) names() string {
	n := make([]string, len(t.cols))
	for i, c := range t.cols {
		n[i] = c.name
	}
	return strings.Join(n, ", ")
}

// source is the rows as a relation for SELECT * FROM (or a VALUES list for SQLite), with
// its arguments.
func (t *table) source(d *DB) (string, []any) {
	if d.dialect == Postgres {
		args := make([]any, len(t.cols))
		parts := make([]string, len(t.cols))
		for j, c := range t.cols {
			parts[j] = "?::" + string(c.typ) + "[]"
			switch c.typ {
			case text:
				a := make([]string, len(t.rows))
				for i, r := range t.rows {
					a[i] = r[j].(string)
				}
				args[j] = a
			case bigint:
				a := make([]int64, len(t.rows))
				for i, r := range t.rows {
					a[i] = r[j].(int64)
				}
				args[j] = a
			case boolean:
				a := make([]bool, len(t.rows))
				for i, r := range t.rows {
					a[i] = r[j].(bool)
				}
				args[j] = a
			}
		}
		return "SELECT * FROM unnest(" + strings.Join(parts, ", ") + ")", args
	}
	var b strings.Builder
	args := make([]any, 0, len(t.rows)*len(t.cols))
	b.WriteString("VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	for i, r := range t.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
		args = append(args, r...)
	}
	return b.String(), args
}

// insert writes the rows into name in one statement; tail follows it (ON CONFLICT ...,
// RETURNING ...). It returns the rows RETURNING gives, or nil without a tail that asks.
func (t *table) insert(ctx context.Context, x tx, name, tail string) (*sql.Rows, error) {
	src, args := t.source(x.d)
	q := "INSERT INTO " + name + " (" + t.names() + ") " + src
	if tail != "" {
		q += " " + tail
	}
	if strings.Contains(tail, "RETURNING") {
		return x.query(ctx, q, args...)
	}
	_, err := x.exec(ctx, q, args...)
	return nil, err
}

// with names the rows as a common table expression alias, for an UPDATE ... FROM alias:
// it returns the WITH clause to put before the statement and its arguments.
func (t *table) with(d *DB, alias string) (string, []any) {
	src, args := t.source(d)
	return "WITH " + alias + " (" + t.names() + ") AS (" + src + ") ", args
}

// in is "col IN (the values)" with its arguments: one array on PostgreSQL, so the text
// does not change with the number of values.
func in(d *DB, col string, vals []string) (string, []any) {
	if d.dialect == Postgres {
		return col + " = ANY(?::text[])", []any{vals}
	}
	if len(vals) == 0 {
		return "FALSE", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}
