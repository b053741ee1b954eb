package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"tollgate/ledger/store"
)

// Webhook delivery: a failed POST is retried with exponential backoff, from 30 s up to
// an hour, and given up after maxAttempts; every attempt is recorded on the notification
// so an admin can see one that was missed.
const (
	maxAttempts = 12
	firstRetry  = 30 * time.Second
	lastRetry   = time.Hour
	lease       = 2 * time.Minute
)

// Deliver posts the notifications due now to their teams' webhooks.
func (s *Server) Deliver(ctx context.Context) error {
	now := s.now()
	due, err := s.store.Claim(ctx, now, lease, 100)
	if err != nil {
		return err
	}
	for _, d := range due {
		failure := s.post(ctx, d)
		attempts := d.Attempts + 1
		wait := min(firstRetry<<min(attempts-1, 20), lastRetry)
		giveUp := failure != "" && attempts >= maxAttempts
		result := "delivered"
		switch {
		case giveUp:
			result = "gave_up"
		case failure != "":
			result = "failed"
		}
		s.metrics.notices.WithLabelValues(result).Inc()
		if failure != "" {
			s.log.Warn("webhook", zap.String("team", d.Team), zap.Int64("notification", d.ID), zap.String("error", failure))
		}
		if err := s.store.Delivered(ctx, d.ID, s.now(), failure, now.Add(wait), giveUp); err != nil {
			return err
		}
	}
	return nil
}

// post delivers one notification and returns why it failed, or "".
func (s *Server) post(ctx context.Context, d store.Delivery) string {
	if d.Webhook == "" {
		return "the team has no webhook; set one with 'tollgate ledger settings --team " + d.Team + " --webhook URL'"
	}
	body, err := json.Marshal(d.Notification)
	if err != nil {
		return err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Webhook, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tollgate-ledger")
	if d.Secret != "" {
		now := time.Now() // the receiver checks it against its own clock, not the ledger's test clock
		req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(SignatureHeader, Sign(d.Secret, now, body))
	}
	resp, err := s.webhooks.Do(req)
	if err != nil {
		return err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Sprintf("webhook answered %s", resp.Status)
	}
	return ""
}
