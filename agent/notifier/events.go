package notifier

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"tollgate/agent/localapi"
)

// maxLine bounds one message on the wire; the agent's are a few hundred bytes.
const maxLine = 1 << 20

// errAgentGone is the end of a stream the agent closed: it stopped or restarted.
var errAgentGone = errors.New("the agent closed the connection")

// stream is one subscription to the agent's messages for the calling user. It is read
// here rather than with localapi.Client.Events because the notifier must know the moment
// the subscription is in place: only then may it read what it missed.
type stream struct {
	body io.Closer
	sc   *bufio.Scanner
}

// subscribe returns once the agent has taken the subscription.
func subscribe(ctx context.Context, hc *http.Client) (*stream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://tollgate/v0/events", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		e := &localapi.Error{Status: resp.StatusCode}
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(e) != nil || e.Message == "" {
			e.Message = "the agent answered " + resp.Status
		}
		return nil, e
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, maxLine)
	return &stream{body: resp.Body, sc: sc}, nil
}

// next waits for the next message. The agent's heartbeat, a blank line every 25s, is no
// message: taken for one, it ended every quiet stream with "unexpected end of JSON input" and
// a reconnect.
func (s *stream) next() (localapi.Message, error) {
	var m localapi.Message
	for {
		if !s.sc.Scan() {
			if err := s.sc.Err(); err != nil {
				return m, err
			}
			return m, errAgentGone
		}
		if len(bytes.TrimSpace(s.sc.Bytes())) > 0 {
			return m, json.Unmarshal(s.sc.Bytes(), &m)
		}
	}
}

func (s *stream) close() { s.body.Close() }
