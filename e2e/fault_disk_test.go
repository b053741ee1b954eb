//go:build linux

package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
	"tollgate/charge"
)

// tinyDisk mounts a tmpfs of size bytes as the rig's state folder, as a small full disk
// would be.
func tinyDisk(t *testing.T, r *agenttest.Rig, size string) {
	t.Helper()
	if err := os.MkdirAll(r.State, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", r.State).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (the test needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", r.State).Run() })
}

// fill writes a file until the disk holding dir is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

func alive(c *exec.Cmd) bool {
	return c.ProcessState == nil && c.Process.Signal(syscall.Signal(0)) == nil
}

// TestFullDiskFailsClosedAndRecovers: the state folder's disk fills while Revit runs in a
// paid window. The agent stays up; a new AutoCAD launch, which would lead to a charge it
// could not record, is refused with the reason; Revit keeps running and a second Revit
// window (paid) still opens. When space returns the agent recovers by itself: AutoCAD
// starts and is charged, and the ledger ends with every charge once.
func TestFullDiskFailsClosedAndRecovers(t *testing.T) {
	for _, gate := range []bool{true, false} {
		t.Run(map[bool]string{true: "pre-exec gate", false: "process watcher"}[gate], func(t *testing.T) {
			eachStore(t, func(t *testing.T, kind string) { fullDisk(t, kind, gate) })
		})
	}
}

func fullDisk(t *testing.T, kind string, gate bool) {
	s := newSystem(t, kind, 1000)
	r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: s.ledger.URL, EnrollToken: s.enroll, Clock: s.clock, NoGate: !gate})
	tinyDisk(t, r, "1m")
	r.Start()
	play(t, r, []step{{at: 0, start: "bin/revit", as: "r1"}, {at: 6 * time.Minute}})
	procs, _, _ := r.Procs()
	revit := procs["r1"]
	pid := r.Pid()

	filler := fill(t, r.State)
	// The journal fails at its next write that needs a new block; the agent's clock
	// heartbeats write once a minute.
	at := 7 * time.Minute
	var st localapi.Status
	for ; at < 6*time.Hour; at += time.Minute {
		r.SetClock(day1.Add(at))
		if st = r.Settled(nil); !st.Journal.Writable {
			break
		}
	}
	if st.Journal.Writable {
		t.Fatalf("got the journal writable on a full disk after %v of heartbeats", at)
	}
	if !strings.Contains(st.Journal.Problem, "full") {
		t.Errorf("got journal problem %q, want it to say the disk is full", st.Journal.Problem)
	}
	// Since is on the agent's clock, as every time status shows: the heartbeat that failed.
	if since := st.Journal.Since; since.Before(day1.Add(at-time.Minute)) || since.After(day1.Add(at)) {
		t.Errorf("got the journal unwritable since %v, want the agent's clock's time, within the minute before %v", since, day1.Add(at))
	}

	// check answers what the launch will get.
	if res, err := r.Client.Check(context.Background(), "autocad", ""); err != nil || res.Allowed || res.Reason != charge.JournalUnavailable {
		t.Errorf("check autocad on a full disk: got %+v %v, want denied %s", res.Decision, err, charge.JournalUnavailable)
	}
	c, err := r.TryLaunch("bin/acad")
	if gate != (err != nil) {
		t.Errorf("got exec error %v with the gate %v, want the gate to refuse the exec, or the watcher to close it", err, gate)
	}
	if err == nil {
		c.Wait() // closed by the watcher
	}
	st = r.WaitFor("the refusal", func(st localapi.Status) bool {
		m, ok := agenttest.MessageOf(st, "denied")
		return ok && m.Product == "autocad"
	})
	m, _ := agenttest.MessageOf(st, "denied")
	for _, want := range []string{"cannot record charges", "disk holding the agent's state folder is full", "Studio IT"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("got refusal %q, want it to say %q", m.Body, want)
		}
	}
	if _, ok := agenttest.SessionOf(st, "autocad"); ok {
		t.Errorf("got an autocad session %+v, want none", st.Sessions)
	}
	if !alive(revit) {
		t.Error("got Revit closed, want it running on through the full disk")
	}
	r2 := r.Launch("bin/revit") // in its paid window: costs nothing, so it opens
	st = r.Settled(func(st localapi.Status) bool { ss, _ := agenttest.SessionOf(st, "revit"); return ss.Procs == 2 })
	if ss, _ := agenttest.SessionOf(st, "revit"); ss.State != "paid" {
		t.Errorf("got revit %+v, want its paid window going on", ss)
	}
	if r.Pid() != pid {
		t.Errorf("got the agent restarted, want it running through the full disk")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	st = r.WaitFor("the journal writable again", func(st localapi.Status) bool { return st.Journal.Writable })
	if st.Journal.Waiting != 0 || st.Journal.Problem != "" {
		t.Errorf("got journal %+v after space returned, want it whole", st.Journal)
	}
	acad := r.Launch("bin/acad")
	r.SetClock(day1.Add(at + time.Minute))
	r.Settled(func(st localapi.Status) bool { ss, _ := agenttest.SessionOf(st, "autocad"); return ss.State == "grace" })
	r.SetClock(day1.Add(at + 7*time.Minute))
	r.Settled(func(st localapi.Status) bool { ss, _ := agenttest.SessionOf(st, "autocad"); return ss.State == "paid" })
	r.Quit(acad)
	r.Quit(r2)
	r.Quit(revit)
	r.SetClock(day1.Add(at + 8*time.Minute))
	r.WaitFor("everything closed and sent", func(st localapi.Status) bool {
		for _, ss := range st.Sessions {
			if ss.Procs > 0 {
				return false
			}
		}
		return st.Backlog == 0
	})
	got := s.ledger.Charges("studio")
	slices.Sort(got)
	want := []string{key("autocad", day1.Add(at+time.Minute), 7), key("revit", day1, 10)}
	if !slices.Equal(got, want) {
		t.Errorf("got ledger charges\n%v\nwant\n%v", got, want)
	}
	if b := s.ledger.Tokens("studio").Balance; b.Available != 1000-17 || b.Held != 0 {
		t.Errorf("got balance %+v, want %d available and nothing held", b, 1000-17)
	}
}

// damage writes random bytes over the start of page id of the journal at path.
func damage(t *testing.T, path string, page uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, 64)
	rng := rand.New(rand.NewPCG(page, 3))
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	if _, err := f.WriteAt(junk, int64(page)*int64(os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
}

// freelistPage is the page the journal's newer header names as its freelist.
func freelistPage(t *testing.T, path string) uint64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var freelist, txid uint64
	for _, off := range []int{16, os.Getpagesize() + 16} {
		if tx := binary.LittleEndian.Uint64(raw[off+48:]); tx >= txid {
			freelist, txid = binary.LittleEndian.Uint64(raw[off+32:]), tx
		}
	}
	return freelist
}

// TestDamagedJournal: the journal of a stopped agent holding an unsent charge is damaged.
// The agent starts anyway, without a panic, says what happened in its log and status,
// keeps the damaged file and its identity (from the identity file when the journal lost
// it), and, where it was readable, sends the charge to the ledger once.
func TestDamagedJournal(t *testing.T) {
	tests := []struct {
		name        string
		damage      func(t *testing.T, path string)
		keepsCharge bool // the unsent charge is read back; the device's identity always is
	}{
		{"empty file", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"random bytes in the newer header page", func(t *testing.T, path string) {
			raw, _ := os.ReadFile(path)
			ps := os.Getpagesize()
			page := uint64(0)
			if binary.LittleEndian.Uint64(raw[ps+16+48:]) > binary.LittleEndian.Uint64(raw[16+48:]) {
				page = 1
			}
			damage(t, path, page)
		}, true},
		{"random bytes in the freelist page", func(t *testing.T, path string) { damage(t, path, freelistPage(t, path)) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSystem(t, "sqlite", 1000)
			r := s.agent()
			play(t, r, []step{{at: 0, start: "bin/revit", as: "r1"}}, true)
			s.ledger.Kill()
			play(t, r, []step{{at: 6 * time.Minute}, {at: 6 * time.Minute, quit: "r1"}}, false)
			st := r.Settled(func(st localapi.Status) bool { return st.Backlog > 0 })
			device := st.Device
			r.Stop()
			path := filepath.Join(r.State, "journal.db")
			tt.damage(t, path)
			found, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			r.Start()
			st = r.Settled(nil)
			if len(st.Journal.Damage) != 1 {
				t.Fatalf("got journal %+v, want the damage reported in status", st.Journal)
			}
			d := st.Journal.Damage[0]
			kept, err := os.ReadFile(d.KeptAt)
			if err != nil || string(kept) != string(found) {
				t.Errorf("got the damaged file kept at %q: %v, want it as found", d.KeptAt, err)
			}
			log, _ := os.ReadFile(r.Log)
			if !strings.Contains(string(log), "journal damaged and repaired") || !strings.Contains(string(log), d.KeptAt) {
				t.Errorf("got no report of the damage in the agent's log")
			}
			if st.Device != device || !d.DeviceKept {
				t.Errorf("got device %q (kept %v), was %q; want it kept", st.Device, d.DeviceKept, device)
			}
			if tt.keepsCharge && d.Unsent == 0 {
				t.Errorf("got damage %+v, want the unsent charge read back", d)
			}

			s.ledger.Restart()
			r.WaitFor("the ledger reached", func(st localapi.Status) bool {
				return st.Ledger != nil && st.Ledger.Enrolled && st.Ledger.Online && st.Backlog == 0
			})
			// The agent works on: a launch is metered, and what was read back is sent once.
			play(t, r, []step{{at: 2 * time.Hour, start: "bin/acad", as: "a1"}, {at: 2*time.Hour + 6*time.Minute}, {at: 2*time.Hour + 7*time.Minute, quit: "a1"}}, true)
			got := s.ledger.Charges("studio")
			slices.Sort(got)
			want := []string{key("autocad", day1.Add(2*time.Hour), 7)}
			if tt.keepsCharge {
				want = append(want, key("revit", day1, 10))
			}
			if !slices.Equal(got, want) {
				t.Errorf("got ledger charges\n%v\nwant\n%v", got, want)
			}
			if log, _ := os.ReadFile(r.Log); strings.Count(string(log), "enrolled with the ledger") != 1 {
				t.Errorf("got the device enrolled again, want it to keep its credential")
			}
			r.Stop()
			r.Start()
			if st := r.Settled(nil); len(st.Journal.Damage) != 1 {
				t.Errorf("got %d damage reports after a clean restart, want the one, still shown", len(st.Journal.Damage))
			}
		})
	}
}
