package storetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// BouncerEnv names the variable that, when it holds the host:port of a PgBouncer in
// transaction pooling mode in front of the TOLLGATE_TEST_POSTGRES cluster, makes URL hand
// out PostgreSQL databases reached through it, and Kinds name only "postgres": the run is
// about the pooler. PgBouncer starts a PgBouncer and gives its address.
const BouncerEnv = "TOLLGATE_TEST_VIA_PGBOUNCER"

// Bouncer is a PgBouncer process in transaction pooling mode, started for a test.
type Bouncer struct {
	Addr string // 127.0.0.1:PORT

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
}

// PgBouncer starts Debian's pgbouncer (apt-get install pgbouncer) on a free loopback port
// in transaction pooling mode, every database forwarded to the TOLLGATE_TEST_POSTGRES
// cluster, and stops it when the test ends. As root it runs as the postgres user, as
// PgBouncer refuses to run as root.
func PgBouncer(t testing.TB) *Bouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/pgbouncer"); err2 != nil {
			t.Fatalf("pgbouncer is not installed: apt-get install pgbouncer (scripts/test does)")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	base := os.Getenv(Env)
	if base == "" {
		t.Fatalf("%s is not set: PgBouncer forwards to that cluster", Env)
	}
	cfg, err := pgconn.ParseConfig(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	// A directory of its own outside the test's (which only its owner may enter): the
	// postgres user must read the configuration.
	dir, err := os.MkdirTemp("", "tollgate-pgbouncer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var runAs []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PgBouncer needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		runAs = []string{"-u", "postgres"}
	}
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), fmt.Appendf(nil, "%q \"\"\n", cfg.User), 0o644); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		port := freePort(t)
		ini := filepath.Join(dir, "pgbouncer.ini")
		// Transaction pooling, the mode that breaks whatever a client keeps in a session
		// (named prepared statements, SET, session advisory locks, LISTEN, temporary
		// tables): what the ledger must survive. No Unix socket, so that parallel test
		// processes do not meet in /tmp.
		conf := fmt.Sprintf(`[databases]
* = host=%s port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
admin_users = %s
stats_users = %s
pool_mode = transaction
default_pool_size = 8
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile =
pidfile =
log_connections = 0
log_disconnections = 0
`, cfg.Host, cfg.Port, port, filepath.Join(dir, "users.txt"), cfg.User, cfg.User)
		if err := os.WriteFile(ini, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		b := &Bouncer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{})}
		b.cmd = exec.Command(bin, append(runAs, ini)...)
		b.cmd.Stdout, b.cmd.Stderr = (*logWriter)(b), (*logWriter)(b)
		if err := b.cmd.Start(); err != nil {
			t.Fatalf("start pgbouncer: %v", err)
		}
		go func() { b.cmd.Wait(); close(b.done) }()
		if b.ready() {
			t.Cleanup(func() {
				b.cmd.Process.Kill()
				<-b.done
				if t.Failed() {
					t.Logf("pgbouncer log:\n%s", b.Log())
				}
			})
			return b
		}
		b.cmd.Process.Kill()
		<-b.done
		// Another process may have taken the port between freePort and the start.
		if try >= 4 || !strings.Contains(b.Log(), "in use") {
			t.Fatalf("pgbouncer did not start:\n%s", b.Log())
		}
	}
}

// ready waits until the bouncer accepts connections, or has exited.
func (b *Bouncer) ready() bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-b.done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Log is what the bouncer printed.
func (b *Bouncer) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

type logWriter Bouncer

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

// Transactions reports how many transactions the bouncer has passed to database db
// (SHOW STATS on its admin console), which proves that a client went through it.
func (b *Bouncer) Transactions(ctx context.Context, db string) (int64, error) {
	host, port, _ := net.SplitHostPort(b.Addr)
	base, _ := pgconn.ParseConfig(os.Getenv(Env))
	// The admin console speaks only the simple query protocol.
	c, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://%s@%s:%s/pgbouncer?sslmode=disable", base.User, host, port))
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	res, err := c.Exec(ctx, "SHOW STATS").ReadAll()
	if err != nil {
		return 0, err
	}
	for _, r := range res {
		col := map[string]int{}
		for i, f := range r.FieldDescriptions {
			col[f.Name] = i
		}
		for _, row := range r.Rows {
			if string(row[col["database"]]) == db {
				return strconv.ParseInt(string(row[col["total_xact_count"]]), 10, 64)
			}
		}
	}
	return 0, nil
}

// Via turns the URL of a database on the TOLLGATE_TEST_POSTGRES cluster into the URL of
// the same database through the bouncer at addr, with the setting docs/deploying.md
// gives for it: pgx's exec mode, which uses no named prepared statements.
func Via(t testing.TB, dbURL, addr string) string {
	t.Helper()
	i := strings.Index(dbURL, "@")
	j := strings.Index(dbURL[i+1:], "/")
	if i < 0 || j < 0 {
		t.Fatalf("database URL %q: want postgres://USER@HOST:PORT/DB", dbURL)
	}
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	return dbURL[:i+1] + addr + dbURL[i+1+j:] + sep + "default_query_exec_mode=exec"
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
