package ledger

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"tollgate/ledger/api"
)

// Ingests are admitted a few at a time, so that a fleet draining its backlogs after an
// outage never stands between a launch and its decision: an ingest holds its team's
// lock for one chunk of its batch at a time (store.IngestChunk), and with at most
// MaxIngests of them running an authorize waits behind that many chunks at most. A
// bounded number more wait their turn in order; past that a device is told 429 with a
// Retry-After that spreads the fleet over the time the waiting work takes, and its
// agent comes back then. No device is paced by a timeout.

// Defaults of Options.MaxIngests and Options.IngestQueue.
const (
	DefaultMaxIngests  = 2
	DefaultIngestQueue = 32
)

type pacer struct {
	run  chan struct{} // a slot per ingest running
	wait chan struct{} // a ticket per ingest waiting for a slot

	mu   sync.Mutex
	took time.Duration // a moving average of how long an ingest takes
}

func newPacer(running, waiting int) *pacer {
	if running <= 0 {
		running = DefaultMaxIngests
	}
	if waiting < 0 {
		waiting = 0
	} else if waiting == 0 {
		waiting = DefaultIngestQueue
	}
	return &pacer{run: make(chan struct{}, running), wait: make(chan struct{}, waiting), took: 50 * time.Millisecond}
}

// enter admits an ingest, waiting in line if the running slots are taken and the line
// has room; ok false means come back later (or ctx ended). done must be called when
// the ingest ends.
func (p *pacer) enter(ctx context.Context) (done func(), ok bool) {
	start := time.Now()
	done = func() {
		took := time.Since(start)
		<-p.run
		p.mu.Lock()
		p.took = (7*p.took + took) / 8
		p.mu.Unlock()
	}
	select {
	case p.run <- struct{}{}:
		return done, true
	default:
	}
	select {
	case p.wait <- struct{}{}:
	default:
		return nil, false
	}
	defer func() { <-p.wait }()
	select {
	case p.run <- struct{}{}:
		start = time.Now()
		return done, true
	case <-ctx.Done():
		return nil, false
	}
}

// retryAfter is how long a device turned away should wait: about the time the ingests
// running and waiting take, at least a second, with jitter up to as much again so that
// devices turned away together do not all come back together.
func (p *pacer) retryAfter() time.Duration {
	p.mu.Lock()
	took := p.took
	p.mu.Unlock()
	ahead := len(p.run) + len(p.wait)
	base := max(time.Second, took*time.Duration(ahead)/time.Duration(cap(p.run)))
	base = base.Round(time.Second)
	return base + time.Duration(rand.Int64N(int64(base)/int64(time.Second)+1))*time.Second
}

// paced runs an ingest when the pacer admits it, and answers 429 otherwise.
func (s *Server) paced(w http.ResponseWriter, r *http.Request, ingest func()) {
	done, ok := s.pace.enter(r.Context())
	if !ok {
		if r.Context().Err() != nil {
			return
		}
		wait := s.pace.retryAfter()
		s.metrics.paced.Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		fail(w, api.CodePaced, "the ledger is applying other devices' events; send this batch again after the Retry-After seconds (nothing of it was stored)")
		return
	}
	defer done()
	ingest()
}
