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
