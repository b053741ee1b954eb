package platform

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// procEventWait bounds waits for a diff; it is no performance bound, which the benchmarks
// measure, only an end to a test whose event never comes.
const procEventWait = 20 * time.Second

// procWatching runs watch (Watch, Run, poll) with a fresh source reporting only names until
// the test ends, and returns the source and its diffs once it is watching in mode.
func procWatching(t *testing.T, mode string, names []string,
	watch func(*Source, context.Context, func(Diff)) error) (*Source, <-chan Diff) {
	t.Helper()
	src := NewSource(SourceOptions{Filter: procOnly(names...), SafetyPoll: time.Hour})
	diffs := make(chan Diff, 64)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- watch(src, ctx, func(d Diff) { diffs <- d }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("watching: %v", err)
		}
	})
	for deadline := time.Now().Add(procEventWait); src.Mode() != mode; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got mode %q, want %q", src.Mode(), mode)
		}
	}
	return src, diffs
}

// procNextDiff returns the next diff about pid.
func procNextDiff(t *testing.T, diffs <-chan Diff, pid int32) Diff {
	t.Helper()
	deadline := time.After(procEventWait)
	for {
		select {
		case d := <-diffs:
			if d = procOf(d, pid); !d.Empty() {
				return d
			}
		case <-deadline:
			t.Fatalf("no diff about pid %d within %v", pid, procEventWait)
			return Diff{}
		}
	}
}

func TestWatchDeliversEvents(t *testing.T) {
	watchers := []struct {
		name  string
		mode  string
		watch func(*Source, context.Context, func(Diff)) error
	}{
		// The safety scan waits an hour: whatever arrives came from the kernel's events.
		{"Watch", ModeConnector, (*Source).Watch},
		{"Run", ModeConnector, func(s *Source, ctx context.Context, fn func(Diff)) error { return s.Run(ctx, time.Hour, fn) }},
		{"poll", ModePoll, func(s *Source, ctx context.Context, fn func(Diff)) error {
			return s.poll(ctx, 10*time.Millisecond, fn)
		}},
	}
	bins := procBuildHelper(t, "revit", "launcher")
	for _, w := range watchers {
		t.Run(w.name, func(t *testing.T) {
			_, diffs := procWatching(t, w.mode, []string{"revit", "launcher"}, w.watch)

			c := procStart(t, bins["revit"], "wait")
			d := procNextDiff(t, diffs, c.pid())
			p, ok := procFind(d, c.pid())
			if !ok || p.Name != "revit" || p.Exe != bins["revit"] {
				t.Fatalf("got %+v, want revit (pid %d) started", d, c.pid())
			}
			c.end(t)
			if d := procNextDiff(t, diffs, c.pid()); !reflect.DeepEqual(d, Diff{Exited: []ProcKey{p.Key}}) {
				t.Errorf("got %+v, want the exit of %v", d, p.Key)
			}
			l := procStart(t, bins["launcher"], "exec", bins["revit"], "wait")
			d = procNextDiff(t, diffs, l.pid())
			launcher, ok := procFind(d, l.pid())
			if !ok || launcher.Name != "launcher" {
				t.Fatalf("got %+v, want the launcher (pid %d) started", d, l.pid())
			}
			io.WriteString(l.stdin, "go\n")
			l.ready(t)
			d = procNextDiff(t, diffs, l.pid())
			if p, ok := procFind(d, l.pid()); !ok || p.Key != launcher.Key || p.Name != "revit" ||
				!reflect.DeepEqual(d.Exited, []ProcKey{launcher.Key}) {
				t.Errorf("got %+v, want %v exited and started again as revit", d, launcher.Key)
			}
			l.end(t)
			if d := procNextDiff(t, diffs, l.pid()); !reflect.DeepEqual(d, Diff{Exited: []ProcKey{launcher.Key}}) {
				t.Errorf("got %+v, want the exit of %v", d, launcher.Key)
			}
		})
	}
}

// procPayload builds a connector payload: a cn_msg carrying a proc_event.
func procPayload(idx, ack, what uint32, data ...uint32) []byte {
	p := make([]byte, procEvDataOff+24)
	ne := binary.NativeEndian
	ne.PutUint32(p[0:], idx)
	ne.PutUint32(p[4:], procCnVal)
	ne.PutUint32(p[12:], ack)
	ne.PutUint32(p[procCnMsgLen:], what)
	for i, v := range data {
		ne.PutUint32(p[procEvDataOff+4*i:], v)
	}
	return p
}

func TestProcDecodeEvent(t *testing.T) {
	const fork = 0x1
	tests := []struct {
		name    string
		payload []byte
		want    procEvent
		wantOK  bool
	}{
		{"exec", procPayload(procCnIdx, 0, procEvExec, 42, 42), procEvent{procExecEvent, 42}, true},
		{"exec by a thread names the process", procPayload(procCnIdx, 0, procEvExec, 43, 42), procEvent{procExecEvent, 42}, true},
		{"exit of a process", procPayload(procCnIdx, 0, procEvExit, 42, 42, 0, 17), procEvent{procExitEvent, 42}, true},
		{"exit of a thread", procPayload(procCnIdx, 0, procEvExit, 43, 42), procEvent{}, false},
		{"fork", procPayload(procCnIdx, 0, fork, 1, 1, 42, 42), procEvent{}, false},
		{"another connector", procPayload(procCnIdx+1, 0, procEvExec, 42, 42), procEvent{}, false},
		{"short", procPayload(procCnIdx, 0, procEvExec, 42, 42)[:procEvDataOff+4], procEvent{}, false},
	}
	for _, tt := range tests {
		got, ok := procDecodeEvent(tt.payload)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestProcDecodeAck(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    unix.Errno
		wantOK  bool
	}{
		{"ours, granted", procPayload(procCnIdx, 8, procEvNone, 0), 0, true},
		{"ours, refused", procPayload(procCnIdx, 8, procEvNone, uint32(unix.EPERM)), unix.EPERM, true},
		{"another listener's", procPayload(procCnIdx, 9, procEvNone, 0), 0, false},
		{"an event", procPayload(procCnIdx, 8, procEvExec, 42, 42), 0, false},
	}
	for _, tt := range tests {
		got, ok := procDecodeAck(tt.payload, 8)
		if !errors.Is(got, tt.want) || ok != tt.wantOK {
			t.Errorf("%s: got %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestProcListenMsg(t *testing.T) {
	b := procListenMsg(7)
	ne := binary.NativeEndian
	got := []uint32{ne.Uint32(b[0:]), uint32(ne.Uint16(b[4:])), ne.Uint32(b[16:]), ne.Uint32(b[20:]), ne.Uint32(b[28:]),
		uint32(ne.Uint16(b[32:])), ne.Uint32(b[36:])}
	want := []uint32{40, unix.NLMSG_DONE, procCnIdx, procCnVal, 7, 4, procCnListen}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got nlmsg_len, type, idx, val, ack, len, op %v; want %v", got, want)
	}
}
