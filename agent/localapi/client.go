package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"tollgate/platform"
)

// DefaultClientTimeout bounds each call to the agent: the connection and the whole answer (for
// Events, the connection and the start of the stream). The agent answers from memory in
// milliseconds; a call that takes longer is talking to an agent that is stuck, or to a pipe
// instance nobody serves (Wine's first one), and a clear error beats a command that hangs.
const DefaultClientTimeout = 10 * time.Second

// ErrAgentTimeout is returned when the agent accepted the connection (or the connection did not
// complete) and did not answer within the client's timeout.
var ErrAgentTimeout = errors.New("the tollgate agent did not answer")

// ClientOptions configures NewClientWith. The zero value means the defaults.
type ClientOptions struct {
	// Timeout bounds each call; 0 means DefaultClientTimeout.
	Timeout time.Duration
}

// Client talks to a running agent over its local API.
type Client struct {
	hc      *http.Client
	socket  string
	timeout time.Duration
}

// NewClient returns a client for the agent listening at socket (a unix socket path or a
// named pipe name).
func NewClient(socket string) *Client { return NewClientWith(socket, ClientOptions{}) }

// NewClientWith is NewClient with options.
func NewClientWith(socket string, o ClientOptions) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultClientTimeout
	}
	return &Client{socket: socket, timeout: o.Timeout, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			return platform.Dial(ctx, socket)
		},
		ResponseHeaderTimeout: o.Timeout,
		// A connection whose call timed out may still carry the stuck answer; never reuse one.
		DisableKeepAlives: true,
	}}}
}

// timedOut turns a call that ran out of the client's time (not the caller's) into
// ErrAgentTimeout, with what to do.
func (c *Client) timedOut(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w at %s within %v: try again; if it keeps happening, restart the tollgate service", ErrAgentTimeout, c.socket, c.timeout)
	}
	return err
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any) error {
	u := "http://tollgate" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, method, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return c.timedOut(ctx, err)
	}
	defer resp.Body.Close()
	return c.timedOut(ctx, json.NewDecoder(resp.Body).Decode(out))
}

// send does a request and turns an answer other than 200 into an *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(e); err != nil {
		return nil, fmt.Errorf("agent answered %s", resp.Status)
	}
	return nil, e
}

// Status is the agent's status as the caller may see it.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v0/status", nil, &s)
}

// Check asks whether a launch of product would be allowed now; user is empty for the
// caller's own.
func (c *Client) Check(ctx context.Context, product, user string) (CheckResult, error) {
	q := url.Values{"product": {product}}
	if user != "" {
		q.Set("user", user)
	}
	var r CheckResult
	return r, c.do(ctx, http.MethodGet, "/v0/check", q, &r)
}

// Messages lists what the caller has been told.
func (c *Client) Messages(ctx context.Context, user string) ([]Message, error) {
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	var ms []Message
	return ms, c.do(ctx, http.MethodGet, "/v0/messages", q, &ms)
}

// Reload makes the agent re-read its configuration; administrators only.
func (c *Client) Reload(ctx context.Context) error {
	var out ReloadResult
	return c.do(ctx, http.MethodPost, "/v0/reload", nil, &out)
}

// ReportIdle tells the agent how long the caller's desktop session has had no keyboard or
// mouse input: what the notifier does every IdleReportEvery.
func (c *Client) ReportIdle(ctx context.Context, idle time.Duration) error {
	var out map[string]any
	return c.do(ctx, http.MethodPost, "/v0/idle", url.Values{"idle": {idle.Round(time.Second).String()}}, &out)
}

// Events calls fn with each message for the caller until ctx ends or the agent goes.
func (c *Client) Events(ctx context.Context, fn func(Message)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://tollgate/v0/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return c.timedOut(ctx, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue // the agent's heartbeat
		}
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return err
		}
		fn(m)
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
