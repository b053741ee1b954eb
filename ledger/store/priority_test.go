package store

import (
	"context"
	"testing"
	"time"
)

// TestWriterLetsUrgentFirst: with the lock held, a bulk writer waiting and then a launch
// decision waiting, the decision takes the lock first when it is freed.
func TestWriterLetsUrgentFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var w writer
	if err := w.lock(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 2)
	take := func(name string, urgent bool) {
		if err := w.lock(ctx, urgent); err != nil {
			order <- "error: " + err.Error()
			return
		}
		order <- name
		w.unlock()
	}
	waitFor := func(what string, ready func() bool) {
		for {
			w.mu.Lock()
			ok := ready()
			w.mu.Unlock()
			if ok {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s never waited", what)
			case <-time.After(time.Millisecond):
			}
		}
	}
	go take("bulk", false)
	waitFor("the bulk writer", func() bool { return w.free != nil })
	go take("decision", true)
	waitFor("the decision", func() bool { return w.urgent == 1 })
	w.unlock()
	for i, want := range []string{"decision", "bulk"} {
		if got := <-order; got != want {
			t.Errorf("lock %d taken by: got %s, want %s", i+1, got, want)
		}
	}
	// A decision that gives up waiting lets the bulk writer in.
	if err := w.lock(ctx, false); err != nil {
		t.Fatal(err)
	}
	gave, stop := context.WithCancel(ctx)
	go take("bulk", false)
	waitFor("the bulk writer", func() bool { return w.free != nil })
	errc := make(chan error, 1)
	go func() { errc <- w.lock(gave, true) }()
	waitFor("the decision", func() bool { return w.urgent == 1 })
	stop()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled wait took the lock")
	}
	w.unlock()
	if got := <-order; got != "bulk" {
		t.Errorf("after the decision gave up: got %s, want bulk", got)
	}
}
