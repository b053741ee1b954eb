//go:build linux

package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// floodStats is the flooder's last report.
type floodStats struct{ tried, open, max, refused int }

// TestEventFloodFromAnotherUserDoesNotBlindTheAgent: a non-root user opens a thousand
// event streams on the socket of an agent allowed 512 descriptors, and keeps reopening
// them. Meanwhile Revit is launched and must be decided and metered, root and another
// user must get `status` answers, and the agent must not exit. Before the local API
// counted callers, the streams took every descriptor and the gate's next read of an exec
// failed: the agent exited and the launch was never metered.
func TestEventFloodFromAnotherUserDoesNotBlindTheAgent(t *testing.T) {
	flooder := agenttest.OSUser(t, "tgflood")
	other := agenttest.OSUser(t, "tgcalm")
	r := newRig(t, 100, func(o *agenttest.Options) { o.NoFile = 512 })
	for _, d := range []string{filepath.Dir(bins.Tollgate), r.Dir, filepath.Dir(r.Dir)} {
		os.Chmod(d, 0o755)
	}
	agenttest.Write(r.T, r.Config, strings.Replace(readFile(t, r.Config), "identity:\n",
		"identity:\n  table: {tgflood: tgtest@studio.example, tgcalm: tgtest@studio.example}\n", 1))
	r.Start()

	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	flood := filepath.Join(dir, "flood")
	if out, err := exec.Command("go", "build", "-o", flood, "tollgate/agent/testdata/flood").CombinedOutput(); err != nil {
		t.Fatalf("go build flood: %v\n%s", err, out)
	}
	uid, _ := strconv.Atoi(flooder.Uid)
	gid, _ := strconv.Atoi(flooder.Gid)
	fc := exec.Command(flood, "--socket", r.Sock, "--streams", "1000")
	fc.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := fc.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last floodStats
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var s floodStats
			if _, err := fmt.Sscanf(sc.Text(), "tried=%d open=%d max=%d refused=%d", &s.tried, &s.open, &s.max, &s.refused); err == nil {
				mu.Lock()
				last = s
				mu.Unlock()
			}
		}
	}()
	stats := func() floodStats {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	defer func() {
		fc.Process.Kill()
		fc.Wait()
		select {
		case <-reported:
		case <-time.After(5 * time.Second):
		}
	}()
	// The flood is on once the flooder has tried more streams than the agent has
	// descriptors.
	for deadline := time.Now().Add(20 * time.Second); stats().tried < 1000; {
		if time.Now().After(deadline) {
			t.Fatalf("the flooder did not get going: %+v", stats())
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	st, err := r.Client.Status(ctx)
	cancel()
	if err != nil || !st.Admin {
		t.Errorf("root's status during the flood: got %+v %v, want an administrator's answer", st.Caller, err)
	}
	if out, code := asUser(t, other, "status", "--json", "--socket", r.Sock); code != 0 || !strings.Contains(out, `"caller": "tgtest@studio.example"`) {
		t.Errorf("another user's status during the flood: got exit %d %q, want their own status", code, out)
	}

	r.Launch("bin/revit")
	r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "grace"
	})
	r.SetClock(day1.Add(6 * time.Minute))
	r.Settled(func(st localapi.Status) bool {
		s, ok := agenttest.SessionOf(st, "revit")
		return ok && s.State == "paid"
	})

	if s := stats(); s.max > 16 || s.refused == 0 {
		t.Errorf("got the flooder's streams %+v, want at most 16 open at once and the rest refused", s)
	}
	log := readFile(t, r.Log)
	if n := strings.Count(log, "local API caller refused"); n < 1 || n > 2 {
		t.Errorf("got %d warnings of refused callers in the log, want one per burst", n)
	}
	r.Stop()
}
