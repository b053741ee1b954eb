package store

import (
	"context"
	"sync"
)

// priority lets launch decisions (authorize, release) pass bulk work (the chunks of an
// ingest) in this process: a chunk does not begin while a decision waits or runs, so a
// decision waits behind at most the chunks already holding or queued on the team's
// lock, never behind a backlog. The zero value is ready.
type priority struct {
	mu     sync.Mutex
	urgent int
	clear  chan struct{} // closed when the last decision ends
}

// enter marks a decision waiting or running until leave.
func (p *priority) enter() {
	p.mu.Lock()
	if p.urgent == 0 {
		p.clear = make(chan struct{})
	}
	p.urgent++
	p.mu.Unlock()
}

func (p *priority) leave() {
	p.mu.Lock()
	p.urgent--
	if p.urgent == 0 {
		close(p.clear)
	}
	p.mu.Unlock()
}

// yield waits until no decision waits or runs, or ctx ends.
func (p *priority) yield(ctx context.Context) error {
	p.mu.Lock()
	if p.urgent == 0 {
		p.mu.Unlock()
		return nil
	}
	c := p.clear
	p.mu.Unlock()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is a lock that an urgent holder (a launch decision) takes before any other
// waiting for it. The zero value is unlocked.
type writer struct {
	mu     sync.Mutex
	held   bool
	urgent int           // urgent lockers waiting
	free   chan struct{} // closed when the lock is next released
}

func (w *writer) lock(ctx context.Context, urgent bool) error {
	w.mu.Lock()
	if urgent {
		w.urgent++
		defer func() {
			w.mu.Lock()
			w.urgent--
			w.mu.Unlock()
		}()
	}
	for w.held || (!urgent && w.urgent > 0) {
		if w.free == nil {
			w.free = make(chan struct{})
		}
		c := w.free
		w.mu.Unlock()
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	w.held = true
	w.mu.Unlock()
	return nil
}

func (w *writer) unlock() {
	w.mu.Lock()
	w.held = false
	if w.free != nil {
		close(w.free)
		w.free = nil
	}
	w.mu.Unlock()
}
