// Package ledgertest runs real `tollgate ledger serve` processes for tests, and drives
// them as an administrator would.
package ledgertest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/ledger"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
)

// Proc is a running ledger.
type Proc struct {
	T     testing.TB
	Bin   string // the tollgate binary
	DB    string
	Data  string
	Clock string // a clock file (platform.FileClock); empty: real time
	URL   string
	Token string // the super-admin token
	Admin *client.Client
	Args  []string // more arguments for `tollgate ledger serve`

	listen string
	cmd    *exec.Cmd
	done   chan error
	mu     sync.Mutex
	log    strings.Builder
}

var listening = regexp.MustCompile(`listening on (https?://\S+)`)

// Start runs `tollgate ledger serve` on db (a URL; empty: SQLite in its data folder) and
// waits for it to listen.
// Test webhooks are receivers on loopback, which a ledger refuses unless told.
func Start(t testing.TB, bin, db, clock string) *Proc {
	t.Helper()
	return StartWith(t, bin, db, clock, "--webhook-allow-internal")
}

// StartWith is Start with the given arguments for `tollgate ledger serve`.
func StartWith(t testing.TB, bin, db, clock string, args ...string) *Proc {
	t.Helper()
	p := &Proc{T: t, Bin: bin, DB: db, Data: t.TempDir(), Clock: clock, listen: "127.0.0.1:0", Args: args}
	p.start()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("ledger log:\n%s", p.Log())
		}
	})
	return p
}

func (p *Proc) start() {
	p.T.Helper()
	args := []string{"ledger", "serve", "--data", p.Data, "--listen", p.listen}
	if p.DB != "" {
		args = append(args, "--db", p.DB)
	}
	if p.Clock != "" {
		args = append(args, "--clock-file", p.Clock)
	}
	args = append(args, p.Args...)
	p.cmd = exec.Command(p.Bin, args...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		p.T.Fatal(err)
	}
	p.cmd.Stderr = writerFunc(p.append)
	if err := p.cmd.Start(); err != nil {
		p.T.Fatal(err)
	}
	p.done = make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.append([]byte(sc.Text() + "\n"))
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(p.cmd, p.done)
	select {
	case u := <-urls:
		p.URL = u
		_, p.listen, _ = strings.Cut(u, "://") // a restart keeps the address agents know
	case err := <-p.done:
		p.T.Fatalf("ledger exited: %v\n%s", err, p.Log())
	case <-time.After(30 * time.Second):
		p.T.Fatalf("ledger did not listen within 30s\n%s", p.Log())
	}
	tok, err := os.ReadFile(filepath.Join(p.Data, ledger.TokenFile))
	if err != nil {
		p.T.Fatal(err)
	}
	p.Token = strings.TrimSpace(string(tok))
	p.Admin = client.New(p.URL, p.Token, nil)
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

func (p *Proc) append(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.Write(b)
}

// Log is what the ledger printed.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Kill ends the ledger with SIGKILL.
func (p *Proc) Kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// Restart starts the ledger again on the same address and database.
func (p *Proc) Restart() { p.start() }

// CLI runs `tollgate ledger ARGS` as the super-admin and returns its output.
func (p *Proc) CLI(args ...string) string {
	p.T.Helper()
	c := exec.Command(p.Bin, append([]string{"ledger"}, args...)...)
	c.Env = append(os.Environ(), "TOLLGATE_LEDGER_URL="+p.URL, "TOLLGATE_ADMIN_TOKEN="+p.Token)
	out, err := c.CombinedOutput()
	if err != nil {
		p.T.Fatalf("tollgate ledger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Studio sets up what the tests share: team studio with a pack of tokens, the products
// Revit (10), AutoCAD (7) and Rhino (5), and users assigned to its pool. It returns an
// enrollment token.
func (p *Proc) Studio(tokens int64, users ...string) string {
	p.T.Helper()
	p.CLI("team", "create", "studio")
	for _, pr := range [][3]string{{"revit", "10", "Autodesk Revit"}, {"autocad", "7", "AutoCAD"}, {"rhino", "5", "Rhino"}} {
		p.CLI("product", "add", pr[0], "--rate", pr[1], "--name", pr[2])
	}
	for _, u := range users {
		p.CLI("user", "assign", u, "--team", "studio")
	}
	if tokens > 0 {
		p.CLI("pack", "buy", "--team", "studio", "--tokens", fmt.Sprint(tokens))
	}
	out := p.CLI("enroll-token", "create", "--team", "studio")
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]) // the token is its first line
}

// Tokens is the team's token report.
func (p *Proc) Tokens(team string) api.TokenReport {
	p.T.Helper()
	var r api.TokenReport
	if err := p.Admin.Do(context.Background(), http.MethodGet, "/v1/admin/teams/"+team+"/reports/tokens?from=2000-01-01", nil, &r); err != nil {
		p.T.Fatal(err)
	}
	return r
}

// Charges lists the windows the ledger debited, as "key tokens".
func (p *Proc) Charges(team string) []string {
	p.T.Helper()
	var out []string
	for _, m := range p.Tokens(team).History {
		if m.Kind == "debit" {
			out = append(out, fmt.Sprintf("%s %d", m.Ref, -m.Tokens))
		}
	}
	return out
}

// Device enrolls a device and returns its client.
func (p *Proc) Device(t testing.TB, enrollToken, name string) *client.Client {
	t.Helper()
	en, err := client.New(p.URL, "", nil).Enroll(context.Background(), enrollToken, name)
	if err != nil {
		t.Fatal(err)
	}
	return client.New(p.URL, en.Credential, nil)
}

// Running reports whether the ledger runs (Kill stops it; Restart starts it again).
func (p *Proc) Running() bool { return p.cmd != nil }
