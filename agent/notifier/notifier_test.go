package notifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"tollgate/agent/localapi"
	"tollgate/agent/notifier/notifiertest"
	"tollgate/clock/clocktest"
	"tollgate/platform"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func TestBackoff(t *testing.T) {
	for failed, limit := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
		var most time.Duration
		for range 2000 {
			d := backoff(failed)
			if d < 0 || d > limit {
				t.Fatalf("backoff(%d): got %v, want within [0, %v]", failed, d, limit)
			}
			most = max(most, d)
		}
		// Full jitter spreads over the whole range; 2000 draws all in the lower half
		// happen with probability 2^-2000.
		if most < limit/2 {
			t.Errorf("backoff(%d): got at most %v in 2000 draws, want some above %v", failed, most, limit/2)
		}
	}
	if d := backoff(1 << 20); d > time.Minute {
		t.Errorf("backoff after a million failures: got %v, want at most 1m", d)
	}
}

func msg(at time.Duration, title string) localapi.Message {
	return localapi.Message{At: t0.Add(at), Kind: "grace", Product: "revit", Title: title, Body: "body of " + title}
}

func titles(ms []localapi.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Title)
	}
	return out
}

// TestShown plays connections: what was there at the first, what the stream brought,
// what the agent's list held at each reconnection.
func TestShown(t *testing.T) {
	type step struct {
		catchUp []localapi.Message // the agent's list at a reconnection
		want    []string           // what the catch-up shows
		stream  *localapi.Message  // or: a message from the stream
		news    bool               // and whether it is shown
	}
	stream := func(m localapi.Message, news bool) step { return step{stream: &m, news: news} }
	tests := []struct {
		name     string
		baseline []localapi.Message
		steps    []step
	}{
		{"old news stays old; what came while away is shown", []localapi.Message{msg(0, "a"), msg(time.Second, "b")}, []step{
			{catchUp: []localapi.Message{msg(0, "a"), msg(time.Second, "b"), msg(2*time.Second, "c")}, want: []string{"c"}},
		}},
		{"a message both listed and streamed is shown once", nil, []step{
			{catchUp: []localapi.Message{msg(0, "a")}, want: []string{"a"}},
			stream(msg(0, "a"), false),
			stream(msg(time.Second, "b"), true),
			stream(msg(time.Second, "b"), true), // a second copy is news (coalescing judges it)
		}},
		{"streamed messages are not shown again by a later catch-up", nil, []step{
			stream(msg(time.Second, "a"), true),
			stream(msg(2*time.Second, "b"), true),
			{catchUp: []localapi.Message{msg(time.Second, "a"), msg(2*time.Second, "b"), msg(3*time.Second, "c")}, want: []string{"c"}},
		}},
		{"a stopped clock: at the same time, only the copies not yet seen", []localapi.Message{msg(0, "a")}, []step{
			{catchUp: []localapi.Message{msg(0, "a"), msg(0, "x")}, want: []string{"x"}},
			{catchUp: []localapi.Message{msg(0, "a"), msg(0, "x"), msg(0, "a")}, want: []string{"a"}},
		}},
		{"an agent that restarted lists only its new messages", []localapi.Message{msg(0, "a")}, []step{
			{catchUp: []localapi.Message{msg(0, "y"), msg(time.Minute, "z")}, want: []string{"y", "z"}},
		}},
		{"older than what was seen is not news", []localapi.Message{msg(time.Hour, "a")}, []step{
			{catchUp: []localapi.Message{msg(0, "old")}, want: nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s shown
			s.baseline(tt.baseline)
			for i, st := range tt.steps {
				if st.stream != nil {
					if got := s.fromStream(*st.stream); got != st.news {
						t.Errorf("step %d: streamed %q: got news %v, want %v", i, st.stream.Title, got, st.news)
					}
					continue
				}
				if got := titles(s.catchUp(st.catchUp)); !slices.Equal(got, st.want) {
					t.Errorf("step %d: catch-up: got %q, want %q", i, got, st.want)
				}
			}
		})
	}
}

func newTest(t *testing.T, level zapcore.Level) (*Notifier, *notifiertest.Display, *clocktest.Clock, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	d := &notifiertest.Display{}
	c := clocktest.New(t0)
	return New(Options{Socket: "unused", Display: d, Clock: c, Logger: zap.New(core)}), d, c, logs
}

func TestCoalesce(t *testing.T) {
	n, d, c, _ := newTest(t, zap.WarnLevel)
	ctx := context.Background()
	n.show(ctx, msg(0, "Revit was not started"))
	n.show(ctx, msg(0, "Revit was not started"))
	n.show(ctx, msg(0, "AutoCAD was not started"))
	c.Advance(1900 * time.Millisecond)
	n.show(ctx, msg(0, "Revit was not started"))
	c.Advance(100 * time.Millisecond)
	n.show(ctx, msg(0, "Revit was not started"))
	n.show(ctx, localapi.Message{Kind: "something_new", Body: "said without a title"})
	var got []string
	for _, x := range d.Notices() {
		got = append(got, x.Title)
	}
	want := []string{"Revit was not started", "AutoCAD was not started", "Revit was not started", "tollgate"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestShowPassesTheMessageThrough(t *testing.T) {
	n, d, _, _ := newTest(t, zap.WarnLevel)
	m := localapi.Message{At: t0, Kind: "low_balance", Title: "Tokens running low", Body: "Your team has 12 tokens left.", Urgent: true}
	n.show(context.Background(), m)
	want := []platform.Notice{{Title: "Tokens running low", Body: "Your team has 12 tokens left.", Urgent: true}}
	if got := d.Notices(); !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDisplayFailuresLoggedOncePerKind(t *testing.T) {
	n, d, c, logs := newTest(t, zap.WarnLevel)
	ctx := context.Background()
	notFound := fmt.Errorf("showing notice: notify-send is not installed or not on PATH: %w", exec.ErrNotFound)
	for i, err := range []error{notFound, notFound, notFound, errors.New("no session bus"), errors.New("no session bus, again"), notFound} {
		d.Fail(err)
		c.Advance(time.Minute)
		n.show(ctx, msg(0, fmt.Sprint("message ", i)))
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.ContextMap()["failure"].(string))
	}
	if want := []string{"not installed", "*errors.errorString"}; !slices.Equal(got, want) {
		t.Errorf("got warnings for %q, want one for each kind, %q", got, want)
	}
	if len(d.Notices()) != 6 {
		t.Errorf("got %d attempts to show, want 6: a failure must not stop later messages", len(d.Notices()))
	}
}

func TestFailureKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("showing notice: %w", exec.ErrNotFound), "not installed"},
		{fmt.Errorf("showing notice with notify-send: %w", context.DeadlineExceeded), "timed out"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", errors.New("c"))), "*errors.errorString"},
	}
	for _, tt := range tests {
		if got := failureKind(tt.err); got != tt.want {
			t.Errorf("failureKind(%v): got %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestPrinter(t *testing.T) {
	tests := []struct {
		n    platform.Notice
		want string
	}{
		{platform.Notice{Title: "Autodesk Revit started", Body: "Closing it within 5 minutes costs nothing."},
			"Autodesk Revit started: Closing it within 5 minutes costs nothing.\n"},
		{platform.Notice{Title: "Autodesk Revit was not started", Body: "A day costs 10 tokens.", Urgent: true},
			"[urgent] Autodesk Revit was not started: A day costs 10 tokens.\n"},
		{platform.Notice{Title: "two\nlines", Body: "tab\there, escape \x1b[2J, bell\a"},
			"two lines: tab here, escape  [2J, bell \n"},
	}
	var buf bytes.Buffer
	p := NewPrinter(&buf)
	want := ""
	for _, tt := range tests {
		if err := p.Notify(context.Background(), tt.n); err != nil {
			t.Fatal(err)
		}
		want += tt.want
	}
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
