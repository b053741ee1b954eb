//go:build linux

package e2e

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/agent/agenttest"
	"tollgate/agent/localapi"
)

// faulty stands between agents and the ledger and breaks what passes through it.
type faulty struct {
	target *url.URL
	mode   atomic.Int32
	mu     sync.Mutex
	rng    *rand.Rand
	srv    *httptest.Server
}

const (
	pass          = iota
	loseResponses // the ledger acts on the request; the answer never arrives
	flaky         // 30% of requests: 503 with Retry-After, or a connection that hangs, then drops
)

func newFaulty(t *testing.T, ledgerURL string) *faulty {
	u, err := url.Parse(ledgerURL)
	if err != nil {
		t.Fatal(err)
	}
	f := &faulty{target: u, rng: rand.New(rand.NewPCG(1, 2))}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *faulty) roll() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64()
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode := f.mode.Load()
	if mode == flaky {
		switch x := f.roll(); {
		case x < 0.15:
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":{"code":"overloaded","message":"try later"}}`, http.StatusServiceUnavailable)
			return
		case x < 0.30:
			time.Sleep(300 * time.Millisecond)
			drop(w)
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, f.target.String()+r.URL.RequestURI(), r.Body)
	if err != nil {
		drop(w)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		drop(w)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || mode == loseResponses {
		drop(w) // committed on the ledger; the agent never hears
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// aDay is a day of use: Revit charged, an AutoCAD launch closed in grace, AutoCAD charged
// and open overnight with Revit reopened in its window, then Revit renewed.
var aDay = []step{
	{at: 0, start: "bin/revit", as: "p1"},
	{at: 6 * time.Minute},
	{at: time.Hour, start: "bin/acad", as: "p2"},
	{at: time.Hour + 2*time.Minute, quit: "p2"},
	{at: time.Hour + 3*time.Minute},
	{at: 2 * time.Hour, start: "bin/acad", as: "p3"},
	{at: 2*time.Hour + 6*time.Minute},
	{at: 4 * time.Hour, quit: "p1"},
	{at: 4*time.Hour + time.Minute},
	{at: 5 * time.Hour, start: "bin/revit", as: "p4"},
	{at: 24 * time.Hour},
	{at: 24*time.Hour + 30*time.Minute, quit: "p3"},
	{at: 24*time.Hour + 30*time.Minute, quit: "p4"},
	{at: 24*time.Hour + 31*time.Minute},
}

var aDayCharges = []string{key("autocad", day1.Add(2*time.Hour), 7), key("revit", day1, 10), key("revit", day1.Add(24*time.Hour), 10)}

// TestFaults plays the day through each kind of failure between agent and ledger; the
// ledger must end with exactly the uninterrupted day's charges, and nothing held.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		during func(s *system, f *faulty, i int) // before step i
	}{
		{"uninterrupted", func(*system, *faulty, int) {}},
		{"ledger killed and restarted mid-sync", func(s *system, _ *faulty, i int) {
			switch i {
			case 2, 9:
				s.ledger.Kill()
			case 5, 12:
				s.ledger.Restart()
			}
		}},
		{"every answer lost after the ledger acted", func(_ *system, f *faulty, i int) {
			if i == 1 { // once the device has enrolled and seen its user
				f.mode.Store(loseResponses)
			}
		}},
		{"30% of requests 503 or dropped", func(_ *system, f *faulty, i int) {
			if i == 0 {
				f.mode.Store(flaky)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, kind string) {
				s := newSystem(t, kind, 1000)
				f := newFaulty(t, s.ledger.URL)
				r := agenttest.New(t, agenttest.Options{Bins: bins, LedgerURL: f.srv.URL, EnrollToken: s.enroll, Clock: s.clock})
				r.Start()
				steps := slices.Clone(aDay)
				for i := range steps {
					tt.during(s, f, i)
					play(t, r, steps[i:i+1], false)
				}
				f.mode.Store(pass)
				if !s.ledger.Running() {
					s.ledger.Restart()
				}
				// A Retry-After is waited out on the agent's clock, which stands still here
				// unless moved: move it on while the backlog waits.
				moved := time.Now()
				r.WaitFor("the backlog drained", func(st localapi.Status) bool {
					if st.Backlog > 0 && time.Since(moved) > time.Second {
						moved = time.Now()
						r.SetClock(r.Now().Add(2 * time.Second))
					}
					return st.Backlog == 0
				})
				got := s.ledger.Charges("studio")
				slices.Sort(got)
				if !slices.Equal(got, aDayCharges) {
					t.Errorf("got ledger charges\n%v\nwant\n%v", got, aDayCharges)
				}
				if b := s.ledger.Tokens("studio").Balance; b.Available != 1000-27 || b.Held != 0 {
					t.Errorf("got balance %+v, want %d available and nothing held", b, 1000-27)
				}
			})
		})
	}
}
