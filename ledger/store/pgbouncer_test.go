package store_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"tollgate/ledger/store"
	"tollgate/ledger/store/storetest"
)

// TestSuiteThroughPgBouncer runs this package's whole test suite again, in a child
// process of this test binary, with every PostgreSQL database reached through a real
// PgBouncer in transaction pooling mode: the topology docs/deploying.md recommends, in
// which consecutive transactions of one ledger connection run on different server
// connections, so anything the store kept in a session would be lost.
func TestSuiteThroughPgBouncer(t *testing.T) {
	if os.Getenv(storetest.BouncerEnv) != "" {
		// This is the child: the suite already runs through the bouncer.
		return
	}
	b := storetest.PgBouncer(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.count=1", "-test.v", "-test.skip", "^TestSuiteThroughPgBouncer$")
	cmd.Env = append(os.Environ(), storetest.BouncerEnv+"="+b.Addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the store suite through PgBouncer (transaction mode): %v\n%s", err, out)
	}
	passed := regexp.MustCompile(`(?m)^\s*--- PASS: Test\w+/postgres`).FindAll(out, -1)
	if len(passed) < 5 {
		t.Errorf("through PgBouncer: got %d tests passed on postgres, want the suite's (at least 5)\n%s", len(passed), out)
	}

	// The child's databases are gone; a last one, migrated through the bouncer, proves
	// that the traffic goes through it rather than around it.
	ctx := context.Background()
	url := storetest.URL(t, "postgres")
	db, err := store.Open(ctx, storetest.Via(t, url, b.Addr))
	if err != nil {
		t.Fatalf("store.Open through PgBouncer: %v", err)
	}
	defer db.Close()
	name := url[strings.LastIndex(url, "/")+1:]
	if i := strings.Index(name, "?"); i >= 0 {
		name = name[:i]
	}
	n, err := b.Transactions(ctx, name)
	if err != nil {
		t.Fatalf("SHOW STATS on the bouncer: %v", err)
	}
	if n == 0 {
		t.Errorf("after migrating %s through the bouncer: got %d transactions in its stats, want some", name, n)
	}
}
