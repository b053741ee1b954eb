package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgCluster is a PostgreSQL cluster of the test's own, run as the postgres user (the
// server refuses root), on a free loopback port.
type pgCluster struct {
	t    *testing.T
	bin  string // the server's bin directory
	data string
	port int
}

// pgBin finds the newest installed PostgreSQL server's bin directory.
func pgBin(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(dirs) == 0 {
		t.Fatal("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: apt-get install postgresql")
	}
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	return dirs[len(dirs)-1]
}

// pgDir is a new directory the postgres user owns, removed when the test ends.
func pgDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tollgate-pgha")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("PostgreSQL does not run as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// asPostgres runs a PostgreSQL program as the postgres user when the test is root.
func asPostgres(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := pgCmd(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

func pgCmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		}
	}
	return cmd
}

// freePGPort is a free port below Linux's ephemeral range (32768 up), where no outgoing
// connection takes it between this check and the server's start.
func freePGPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// start runs the cluster's server with the given settings (-c NAME=VALUE), its socket
// in its own directory and its log beside its data.
func (c *pgCluster) start(settings ...string) {
	c.t.Helper()
	opts := fmt.Sprintf("-k %s -h 127.0.0.1 -p %d", filepath.Dir(c.data), c.port)
	for _, s := range settings {
		opts += " -c " + s
	}
	asPostgres(c.t, filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-l", c.data+".log", "-w", "-t", "120", "-o", opts, "start")
	c.t.Cleanup(func() {
		pgCmd(filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "stop").Run()
		if c.t.Failed() {
			b, _ := os.ReadFile(c.data + ".log")
			c.t.Logf("PostgreSQL log of %s:\n%s", filepath.Base(c.data), b)
		}
	})
}

// url is the URL of database db on this cluster alone.
func (c *pgCluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// exec runs sql on database db of this cluster.
func (c *pgCluster) exec(db, sql string) {
	c.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.url(db))
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		c.t.Fatalf("%s: %v", sql, err)
	}
}

// kill9 ends the server as a power cut would: SIGKILL to the postmaster and every
// process it started, before any of them can finish what it was doing.
func (c *pgCluster) kill9() {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		c.t.Fatal(err)
	}
	kids := childrenOf(pid)
	syscall.Kill(pid, syscall.SIGKILL)
	for _, k := range kids {
		syscall.Kill(k, syscall.SIGKILL)
	}
	// Backends forked between the listing and the kill see their postmaster gone and exit;
	// wait until nothing of the server is left.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil && len(childrenOf(pid)) == 0 {
			return
		}
		for _, k := range childrenOf(pid) {
			syscall.Kill(k, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("PostgreSQL %d still runs after SIGKILL", pid)
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		k, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after its ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, k)
		}
	}
	return out
}

// haPair is a primary and a synchronous streaming replica of it, as docs/deploying.md
// sets them up: the replica cloned with pg_basebackup -R, the primary's commits waiting
// until the replica has flushed them (synchronous_commit = on with the replica named in
// synchronous_standby_names), so that the replica, once promoted, holds every commit a
// client was told of.
type haPair struct {
	primary, replica *pgCluster
}

func newHAPair(t *testing.T, db string) *haPair {
	t.Helper()
	bin := pgBin(t)
	dir := pgDir(t)
	p := &pgCluster{t: t, bin: bin, data: filepath.Join(dir, "primary"), port: freePGPort(t)}
	asPostgres(t, filepath.Join(bin, "initdb"), "-D", p.data, "-U", "postgres", "-A", "trust", "--no-sync")
	p.start("wal_level=replica", "max_wal_senders=5", "max_connections=100")
	p.exec("postgres", "CREATE DATABASE "+db)
	r := &pgCluster{t: t, bin: bin, data: filepath.Join(dir, "replica"), port: freePGPort(t)}
	asPostgres(t, filepath.Join(bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres",
		"-D", r.data, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	// cluster_name is the name the replica's WAL receiver gives the primary.
	r.start("cluster_name=replica", "max_connections=100", "hot_standby=on")
	p.exec("postgres", "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (replica)'")
	p.exec("postgres", "ALTER SYSTEM SET synchronous_commit = 'on'")
	p.exec("postgres", "SELECT pg_reload_conf()")
	// Until the replica is streaming synchronously, a commit is not yet safe.
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, p.url("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		var state string
		err = conn.QueryRow(ctx, `SELECT sync_state FROM pg_stat_replication WHERE application_name = 'replica'`).Scan(&state)
		conn.Close(ctx)
		if err == nil && state == "sync" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica is not a synchronous standby after 60s (state %q, %v)", state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &haPair{primary: p, replica: r}
}

// url is the multi-host URL a ledger is given: both servers, and only a read-write one
// accepted, so a new connection finds whichever is the primary now.
func (h *haPair) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=5",
		h.primary.port, h.replica.port, db)
}

// promote makes the replica the primary, as an operator (or Patroni) does after the
// primary is lost.
func (h *haPair) promote() {
	h.replica.t.Helper()
	asPostgres(h.replica.t, filepath.Join(h.replica.bin, "pg_ctl"), "-D", h.replica.data, "-w", "-t", "120", "promote")
}
