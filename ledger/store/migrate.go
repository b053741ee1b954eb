package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migration is one numbered file of migrations/, applied once, in order.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: want NNN_name.sql", base)
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	// Two files with one number would apply only the first, silently, on every database.
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number; renumber one", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// ddl adapts the one schema to the dialect, as a text/template: {{serial}} is the
// auto-numbered key, and {{if .SQLite}}...{{else}}...{{end}} holds what only one
// dialect can say (triggers).
func (d *DB) ddl(name, s string) (string, error) {
	serial := "BIGSERIAL PRIMARY KEY"
	if d.dialect == SQLite {
		serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	t, err := template.New(name).Funcs(template.FuncMap{"serial": func() string { return serial }}).Parse(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, struct{ SQLite bool }{d.dialect == SQLite}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// migrate applies the missing migrations, each in its own transaction. Several servers
// starting at once against one PostgreSQL take turns on an advisory lock.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := d.write(ctx, func(t tx) error {
			if d.dialect == Postgres {
				if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(7484)`); err != nil {
					return err
				}
			}
			if _, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := t.row(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			ddl, err := d.ddl(m.name, m.sql)
			if err != nil {
				return err
			}
			if _, err := t.tx.ExecContext(ctx, ddl); err != nil {
				return err
			}
			_, err = t.exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}
