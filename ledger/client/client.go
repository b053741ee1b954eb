// Package client is the typed client of the ledger's API: what the agent calls to enroll,
// fetch entitlements, authorize launches and sync its journal, and what the command line
// uses for the admin verbs.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
)

// Client calls one ledger with one bearer token: a device credential for the agent API,
// an admin token for the admin API.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a client of the ledger at baseURL ("https://ledger.example:7480"). A nil
// hc is a client with a 30 s timeout.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// WithToken returns a client of the same ledger with another token, such as the
// credential Enroll returned.
func (c *Client) WithToken(token string) *Client {
	return &Client{base: c.base, token: token, hc: c.hc}
}

// Error is an answer of the ledger that is not a success.
type Error struct {
	Status     int           // HTTP status
	RetryAfter time.Duration // from Retry-After on 429 and 503
	Code       string        // stable, one of api's Code constants
	Message    string        // for a person
	Events     []api.Result  // invalid_events: the events refused, and why
}

func (e *Error) Error() string {
	return fmt.Sprintf("ledger: %s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// Temporary reports whether the same request may succeed later: overload and server
// errors, not refusals.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Code returns the stable code of an *Error in err's chain, or "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Enroll trades a team's enrollment token for this device's credential. It needs no
// token of its own; use WithToken(Enrolled.Credential) for every later call.
func (c *Client) Enroll(ctx context.Context, token, name string) (api.Enrolled, error) {
	return c.EnrollWith(ctx, api.Enroll{Token: token, Name: name})
}

// EnrollWith is Enroll with everything the request may carry: the agent's report.
func (c *Client) EnrollWith(ctx context.Context, e api.Enroll) (api.Enrolled, error) {
	var out api.Enrolled
	err := c.Do(ctx, http.MethodPost, "/v1/enroll", e, &out)
	return out, err
}

// Entitlement returns the ledger's snapshot of user, for charge.Decide.
func (c *Client) Entitlement(ctx context.Context, user string) (charge.Entitlement, error) {
	var out charge.Entitlement
	err := c.Do(ctx, http.MethodGet, "/v1/entitlement/"+url.PathEscape(user), nil, &out)
	return out, err
}

// Authorize asks whether user may launch product now; a launch in grace holds the
// product's rate under hold (empty: the ledger names it).
func (c *Client) Authorize(ctx context.Context, user, product, hold string) (api.Authorized, error) {
	var out api.Authorized
	err := c.Do(ctx, http.MethodPost, "/v1/authorize", api.Authorize{User: user, Product: product, Hold: hold}, &out)
	return out, err
}

// Release frees a hold whose session ended inside its grace. A charged event that names
// the hold commits it instead.
func (c *Client) Release(ctx context.Context, hold string) error {
	return c.Do(ctx, http.MethodPost, "/v1/release", api.Release{Hold: hold}, nil)
}

// Ingest sends a batch of journaled events; the results are in the batch's order.
func (c *Client) Ingest(ctx context.Context, events []api.Event) ([]api.Result, error) {
	return c.IngestAt(ctx, events, time.Time{})
}

// IngestAt is Ingest with the device's clock reading, in the frame the events were
// stamped in: the ledger corrects their times by the difference from its own clock.
func (c *Client) IngestAt(ctx context.Context, events []api.Event, deviceNow time.Time) ([]api.Result, error) {
	return c.Send(ctx, api.Ingest{Events: events, DeviceNow: deviceNow})
}

// Send posts a batch with everything it may carry: the device's clock, the agent's report.
func (c *Client) Send(ctx context.Context, in api.Ingest) ([]api.Result, error) {
	var out api.Ingested
	err := c.Do(ctx, http.MethodPost, "/v1/events", in, &out)
	return out.Results, err
}

// Do sends in as JSON (nil: no body) and decodes the answer into out (nil: ignore it).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// Raw sends a request and returns the successful answer's body, for reports as CSV.
func (c *Client) Raw(ctx context.Context, method, path string) ([]byte, error) {
	resp, err := c.send(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var eb api.ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message, e.Events = eb.Error.Code, eb.Error.Message, eb.Error.Events
	} else {
		e.Code, e.Message = api.CodeInternal, fmt.Sprintf("%s %s answered %s: %.200s", method, path, resp.Status, b)
	}
	return nil, e
}

// Token returns the bearer token c sends.
func Token(c *Client) string { return c.token }

// Stream sends a GET and returns the answer's body as it arrives, for reports that take
// longer to read than the client's timeout: that timeout bounds only the wait for the
// answer to start. The caller closes the body.
func (c *Client) Stream(ctx context.Context, path string) (io.ReadCloser, error) {
	hc := *c.hc
	wait := hc.Timeout
	hc.Timeout = 0
	ctx, cancel := context.WithCancel(ctx)
	if wait > 0 {
		t := time.AfterFunc(wait, cancel)
		defer t.Stop()
	}
	resp, err := (&Client{base: c.base, token: c.token, hc: &hc}).send(ctx, "GET", path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	return streamBody{resp.Body, cancel}, nil
}

type streamBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b streamBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
