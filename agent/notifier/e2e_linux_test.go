//go:build linux

package notifier_test

import (
	"bytes"
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
	"tollgate/platform"
)

func TestShowsGraceThenCharge(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	n := runNotifier(t, r.Sock, nil)
	n.connected(1)

	r.Launch("bin/revit")
	got := n.shown("Autodesk Revit started")
	want := platform.Notice{Title: "Autodesk Revit started",
		Body: "Closing Autodesk Revit within 5 minutes costs nothing. After 5 minutes of use it costs 10 tokens for 24 hours."}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	r.SetClock(agenttest.Day1.Add(5 * time.Minute))
	got = n.shown("Autodesk Revit: 10 tokens charged")
	if !strings.HasPrefix(got.Body, "Autodesk Revit is paid for until ") || got.Urgent {
		t.Errorf("got %+v, want the window's end, not urgent", got)
	}
	if titles := n.titles(); len(titles) != 2 {
		t.Errorf("got %q, want the grace notice and the charge only", titles)
	}
}

// TestShowsDenialOnce: a product the team cannot pay for is closed and the person is
// told why, what it costs, what is left and whom to ask; a burst of launches is one notice.
func TestShowsDenialOnce(t *testing.T) {
	r := newRig(t, 5)
	r.Start()
	n := runNotifier(t, r.Sock, nil)
	n.connected(1)

	r.Launch("bin/revit")
	r.Launch("bin/revit")
	r.WaitFor("both launches denied", func(st localapi.Status) bool {
		denied := 0
		for _, m := range st.Messages {
			if m.Kind == "denied" && m.Product == "revit" {
				denied++
			}
		}
		return denied == 2
	})
	got := n.shown("Autodesk Revit was not started")
	want := platform.Notice{Title: "Autodesk Revit was not started", Urgent: true,
		Body: "A day of Autodesk Revit costs 10 tokens and your team has 5 left. Contact Studio IT, it@studio.example, ext. 200."}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// The agent tells in order, so once a later denial is shown the burst's second
	// notice would have been too.
	r.Launch("bin/acad")
	n.shown("AutoCAD was not started")
	if got, want := n.titles(), []string{"Autodesk Revit was not started", "AutoCAD was not started"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q: the burst shown once", got, want)
	}
}

// TestReconnectsAfterAgentRestart: the agent crashes and comes back; the notifier waits
// with growing backoff, reconnects by itself, shows what was said while it was away, and
// keeps showing what comes after.
func TestReconnectsAfterAgentRestart(t *testing.T) {
	r := newRig(t, 100)
	r.Start()
	n := runNotifier(t, r.Sock, nil)
	n.connected(1)
	r.Launch("bin/revit")
	n.shown("Autodesk Revit started")

	r.Kill()
	var waits []time.Duration
	for _, limit := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		d, release := n.backoff()
		if d < 0 || d > limit {
			t.Errorf("got backoff %v, want within [0, %v]", d, limit)
		}
		waits = append(waits, d)
		if limit == 4*time.Second {
			// Back while the notifier sleeps, and saying something before it returns.
			r.Start()
			r.Launch("bin/acad")
			r.WaitFor("the AutoCAD grace message", func(st localapi.Status) bool {
				return slices.ContainsFunc(st.Messages, func(m localapi.Message) bool { return m.Title == "AutoCAD started" })
			})
		}
		release()
	}
	n.connected(2)
	n.shown("AutoCAD started")
	r.Launch("gated/rhino")
	n.shown("Rhino started")
	if got, want := n.titles(), []string{"Autodesk Revit started", "AutoCAD started", "Rhino started"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := n.logs.FilterMessage("cannot reach the agent; retrying").Len(); got < 1 {
		t.Errorf("got %d lines about the agent being away, want it said", got)
	}
	t.Logf("backoffs while the agent was away: %v", waits)
}

// TestOtherUsersMessagesAreNotShown runs `tollgate notifier --print` as a second OS user
// beside root's notifier: each sees only their own launches.
func TestOtherUsersMessagesAreNotShown(t *testing.T) {
	u := agenttest.OSUser(t, otherUser)
	r := newRig(t, 100)
	shareWith(t, r, u)
	r.Start()
	root := runNotifier(t, r.Sock, nil)
	root.connected(1)

	var out, errOut syncBuffer
	c := exec.Command(bins.Tollgate, "notifier", "--print", "--socket", r.Sock)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, u)}
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	defer func() {
		if c.ProcessState == nil {
			c.Process.Kill()
			<-done
		}
	}()
	eventually(t, "the second user's notifier to connect", func() bool { return strings.Contains(errOut.String(), "connected to the agent") })

	// Each step moves the fake clock past coalescing, so that a leaked notice with a
	// title already shown would count.
	launchAs(t, r, "bin/acad", u)
	eventually(t, "the second user's AutoCAD notice", func() bool { return strings.Contains(out.String(), "AutoCAD started") })
	root.clock.Advance(time.Minute)
	r.Launch("bin/revit")
	root.shown("Autodesk Revit started")
	launchAs(t, r, "gated/rhino", u)
	eventually(t, "the second user's Rhino notice", func() bool { return strings.Contains(out.String(), "Rhino started") })
	root.clock.Advance(time.Minute)
	r.Launch("bin/acad")
	eventually(t, "root's own AutoCAD notice", func() bool { return len(root.titles()) == 2 })

	// The agent tells each subscriber in order, so a leak of an earlier step would show
	// before the later notice that ended the wait.
	if got, want := root.titles(), []string{"Autodesk Revit started", "AutoCAD started"}; !slices.Equal(got, want) {
		t.Errorf("root was shown %q, want %q", got, want)
	}
	wantOut := "AutoCAD started: Closing AutoCAD within 5 minutes costs nothing. After 5 minutes of use it costs 7 tokens for 24 hours.\n" +
		"Rhino started: Closing Rhino within 5 minutes costs nothing. After 5 minutes of use it costs 5 tokens for 24 hours.\n"
	if got := out.String(); got != wantOut {
		t.Errorf("%s's notifier printed\n%s\nwant\n%s", otherUser, got, wantOut)
	}

	c.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("notifier exited with %v on SIGTERM, want 0\n%s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("notifier did not stop within 10s of SIGTERM")
	}
}

// TestDesktopCommandLine shows messages through the real desktop notifier, with a
// notify-send first on PATH that records the command line it was given.
func TestDesktopCommandLine(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" > \"" + calls + ".$$\"\nmv \"" + calls + ".$$\" \"" + calls + ".$$.done\"\n"
	if err := os.WriteFile(filepath.Join(bin, "notify-send"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := newRig(t, 5)
	r.Start()
	n := runNotifier(t, r.Sock, platform.NewDesktopNotifier())
	n.connected(1)
	r.Launch("bin/revit")

	var argv [][]byte
	eventually(t, "notify-send to be run", func() bool {
		done, _ := filepath.Glob(calls + ".*.done")
		if len(done) == 0 {
			return false
		}
		data, err := os.ReadFile(done[0])
		if err != nil {
			t.Fatal(err)
		}
		argv = bytes.Split(bytes.TrimSuffix(data, []byte{0}), []byte{0})
		return true
	})
	want := []string{"--app-name=tollgate", "--urgency=critical", "--", "Autodesk Revit was not started",
		"A day of Autodesk Revit costs 10 tokens and your team has 5 left. Contact Studio IT, it@studio.example, ext. 200."}
	var got []string
	for _, a := range argv {
		got = append(got, string(a))
	}
	if !slices.Equal(got, want) {
		t.Errorf("notify-send got\n%q\nwant\n%q", got, want)
	}
}

// TestDesktopWithoutNotifySend: on a desktop without notify-send each message fails to
// show; that is logged once, not once a message.
func TestDesktopWithoutNotifySend(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := newRig(t, 100)
	r.Start()
	n := runNotifier(t, r.Sock, platform.NewDesktopNotifier())
	n.connected(1)
	for i, name := range []string{"bin/revit", "bin/acad", "gated/rhino"} {
		r.Launch(name)
		eventually(t, "the failure to show message "+name, func() bool {
			return n.logs.FilterMessageSnippet("cannot show a message").Len() == i+1
		})
	}
	warned := n.logs.FilterMessage("cannot show a message on this desktop; later failures of this kind are not logged").All()
	if len(warned) != 1 || warned[0].ContextMap()["failure"] != "not installed" {
		t.Errorf("got warnings %+v, want one, for notify-send not installed", warned)
	}
}
