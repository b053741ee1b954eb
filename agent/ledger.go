package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"tollgate/agent/localapi"
	"tollgate/charge"
	"tollgate/config"
	"tollgate/ledger/api"
	"tollgate/ledger/client"
	"tollgate/platform"
)

// link is the agent's connection to the ledger: its enrollment, its credential, and
// whether the ledger answered lately.
type link struct {
	url   string
	token string // the enrollment token file
	hc    *http.Client

	mu     sync.Mutex
	client *client.Client // nil until enrolled
	online bool
	lastOK time.Time // ledger time of the last answer
	err    string
	// Entries the ledger refused (kept in its dead-letter), and the last reason.
	refusedN    int
	lastRefusal string
}

func (l *link) refused(why string) {
	l.mu.Lock()
	l.refusedN++
	l.lastRefusal = why
	l.mu.Unlock()
}

const (
	keyCredential  = "ledger/credential"
	snapshotPrefix = "snapshot/"
	askTimeout     = 2 * time.Second // a launch waits this long for the ledger, then decides offline
	refreshEvery   = time.Minute
)

func newLink(cfg *config.Config) (*link, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Ledger.CAFile != "" {
		pem, err := os.ReadFile(cfg.Ledger.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ledger.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ledger.ca_file %s holds no PEM certificate", cfg.Ledger.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	// Online until it fails: the first launch after a start asks the ledger.
	return &link{url: cfg.Ledger.URL, token: cfg.Ledger.EnrollmentTokenFile, online: true, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// ledger returns the client, enrolling first if this device has no credential yet. The
// credential is kept in the journal, in the state folder only the service account reads.
func (a *Agent) ledger(ctx context.Context) (*client.Client, error) {
	l := a.link
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		return l.client, nil
	}
	cred, err := a.journal.Get(keyCredential)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		en, err := enroll(ctx, a.device, l.url, l.token, l.hc, a.agentInfo(""))
		if err != nil {
			return nil, err
		}
		cred = []byte(en.Credential)
		if err := a.journal.Put(keyCredential, cred); err != nil {
			return nil, err
		}
		a.log.Info("enrolled with the ledger", zap.String("ledger", l.url), zap.String("team", en.Team), zap.String("ledger_device", en.Device))
		// The ledger answered: a device enrolled after a failed first try (a new or a
		// repaired journal) is online at once, not at the next refresh.
		l.online, l.lastOK, l.err = true, a.reading().Wall, ""
	}
	l.client = client.New(l.url, string(cred), l.hc)
	return l.client, nil
}

// enroll enrolls this device with the ledger at url with the token in the file tokenFile,
// under the device id its events carry, so the ledger's devices, reports and this
// machine's status all name it one way.
func enroll(ctx context.Context, device, url, tokenFile string, hc *http.Client, info *api.AgentInfo) (api.Enrolled, error) {
	if tokenFile == "" {
		return api.Enrolled{}, errors.New("this device is not enrolled: set ledger.enrollment_token_file in the config")
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return api.Enrolled{}, fmt.Errorf("enrollment token: %w", err)
	}
	e := api.Enroll{Token: strings.TrimSpace(string(tok)), Name: device, Agent: info}
	en, err := client.New(url, "", hc).EnrollWith(ctx, e)
	if e.Agent != nil && unknownAgentField(err) {
		e.Agent = nil // a ledger older than the report
		en, err = client.New(url, "", hc).EnrollWith(ctx, e)
	}
	if err != nil {
		return api.Enrolled{}, fmt.Errorf("enrolling with %s: %w", url, err)
	}
	return en, nil
}

// answered notes that the ledger answered (or did not), and tells users when the agent
// goes offline.
func (a *Agent) answered(err error) {
	l := a.link
	l.mu.Lock()
	was := l.online
	var ce *client.Error
	// A batch paced by the ledger (429) reached it: the ledger is busy, not gone, and
	// launches are still decided by it.
	reached := err == nil || errors.As(err, &ce) && (!ce.Temporary() || ce.Code == api.CodePaced)
	l.online = reached
	if reached {
		l.lastOK, l.err = a.reading().Wall, ""
	} else {
		l.err = err.Error()
	}
	l.mu.Unlock()
	if was && !reached {
		a.log.Warn("ledger unreachable; deciding from cached entitlements", zap.Error(err))
		a.mu.Lock()
		a.tell(localapi.Message{At: a.meter.Now(), Kind: localapi.KindOffline, Title: "Working offline",
			Body: fmt.Sprintf("This computer cannot reach the licence server. Products already paid for keep working; new launches that cost tokens can still be decided for %s.", charge.Roughly(a.policy(a.cfg).OfflineMaxAge))})
		a.mu.Unlock()
	}
}

// refresh fetches a user's snapshot, keeps it (in memory and in the journal, for a
// restart while offline) and learns the ledger's clock from it.
func (a *Agent) refresh(ctx context.Context, user string) error {
	c, err := a.ledger(ctx)
	if err != nil {
		return err
	}
	// The offset is from this machine's clock as the agent reads it, which is not always
	// time.Now (an injected clock).
	t0, m0 := a.opts.Clock.Read()
	e, err := c.Entitlement(ctx, user)
	t1, m1 := a.opts.Clock.Read()
	if client.Code(err) == api.CodeNotFound {
		// Not in the device's team: as the ledger sees it, not assigned to any pool.
		e, err = charge.Entitlement{User: user, AsOf: a.reading().Wall}, nil
	}
	a.answered(err)
	if err != nil {
		return err
	}
	// A wall clock set while the question was out (the wall moved other than the monotonic
	// clock) leaves no midpoint to measure from, and an answer that comes back while
	// another corrects the offset (the sync loop's refresh and a launch's question, after
	// the same set-back) would see the set-back a second time: neither corrects anything,
	// and the next question measures again. TryLock, not Lock: advance may ask the ledger
	// (a wake) while a correction holds it.
	steady := (t1.Sub(t0) - (m1 - m0)).Abs() <= time.Second
	if _, test := a.opts.Clock.(*platform.FileClock); !test && steady && !e.AsOf.IsZero() && a.offsetMu.TryLock() {
		err := a.correct(e.AsOf.Sub(t0.Add(t1.Sub(t0) / 2)))
		a.offsetMu.Unlock()
		if err != nil {
			a.fail(err)
			return err
		}
	}
	a.ents.put(e)
	if data, err := json.Marshal(e); err == nil {
		a.journal.Put(snapshotPrefix+user, data)
	}
	a.recheck(user)
	return nil
}

// restoreSnapshots loads the snapshots kept before a restart.
func (a *Agent) restoreSnapshots() error {
	return a.journal.Each(snapshotPrefix, func(_ string, v []byte) error {
		var e charge.Entitlement
		if err := json.Unmarshal(v, &e); err != nil {
			return nil // a damaged cache entry is refetched
		}
		a.ents.put(e)
		return nil
	})
}

// authorize asks the ledger about a launch before the meter decides it, so that launches
// racing for the last tokens are decided one after the other by the ledger, which holds
// the tokens of the one it lets into grace. Offline, it returns false and the meter
// decides from the cached snapshot.
func (a *Agent) authorize(user, product, hold string) (api.Authorized, bool) {
	if !a.link.state().Online {
		return api.Authorized{}, false // known offline: no launch waits for a timeout; the sync loop finds the ledger again
	}
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	c, err := a.ledger(ctx)
	if err != nil {
		a.answered(err)
		return api.Authorized{}, false
	}
	if err := a.refresh(ctx, user); err != nil {
		return api.Authorized{}, false
	}
	auth, err := c.Authorize(ctx, user, product, hold)
	a.answered(err)
	if err != nil {
		if client.Code(err) == api.CodeNotFound {
			return api.Authorized{}, false // an unknown user or product: the snapshot says so
		}
		a.log.Info("ledger did not authorize; deciding offline", zap.String("user", user), zap.Error(err))
		return api.Authorized{}, false
	}
	return auth, true
}

// release frees a hold the ledger placed for a launch the meter did not put in grace.
func (a *Agent) release(hold string) {
	a.closing.Add(1)
	go func() {
		defer a.closing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
		defer cancel()
		c, err := a.ledger(ctx)
		if err == nil {
			err = c.Release(ctx, hold)
		}
		if err != nil {
			a.log.Info("hold not released; the ledger frees it after a day", zap.String("hold", hold), zap.Error(err))
		}
	}()
}

func (l *link) state() localapi.LedgerStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return localapi.LedgerStatus{URL: l.url, Enrolled: l.client != nil, Online: l.online, LastContact: l.lastOK, Error: l.err,
		Refused: l.refusedN, LastRefusal: l.lastRefusal}
}

// correct takes off, the ledger's time minus this machine's as one answer measured it, as
// the offset when it differs from the one in force by more than a second. The caller
// holds a.offsetMu.
func (a *Agent) correct(off time.Duration) error {
	if (off - time.Duration(a.offset.Load())).Abs() <= time.Second {
		return nil
	}
	if off > time.Duration(a.offset.Load()) && !a.waking.Load() {
		// This machine's clock fell behind the ledger's: set back, most likely. The meter
		// reads the clock as it was corrected until now first, so that it sees the set-back
		// and reports it, online as offline.
		if err := a.advance(); err != nil {
			return err
		}
	}
	a.offset.Store(int64(off))
	return nil
}
