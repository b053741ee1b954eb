package ledger

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Webhook signing: the body is signed with the team's secret as
// HMAC-SHA256(secret, timestamp + "." + body), hex, in SignatureHeader as "v1=<hex>";
// the timestamp (Unix seconds) is in TimestampHeader, so that a receiver can refuse an
// old body sent again. docs/deploying.md shows a receiver's check.
const (
	SignatureHeader = "Tollgate-Signature"
	TimestampHeader = "Tollgate-Timestamp"
)

// Sign returns the signature header's value of body sent at ts with secret.
func Sign(secret string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook's signature as a receiver would: the signature matches the
// timestamp and body, and the timestamp is within tolerance of now.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: want Unix seconds", TimestampHeader, timestamp)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s %s is %v from now: too old or too new", TimestampHeader, ts.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature does not match the body: not from this ledger, or changed on the way")
	}
	return nil
}

// internal reports whether a webhook must not be sent to ip: this machine (loopback,
// unspecified) or its link (link-local: where cloud metadata services answer, such as
// 169.254.169.254 and fd00:ec2::254).
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsUnspecified() || ip == netip.MustParseAddr("fd00:ec2::254")
}

const allowHint = "the ledger does not post to this machine or its link-local network; if this is meant, start the ledger with --webhook-allow-internal"

// checkWebhookTarget refuses a webhook URL that names a loopback or link-local host. A
// name is checked again, resolved, when each notice is sent (webhookClient).
func (s *Server) checkWebhookTarget(raw string) error {
	if s.allowInternal || raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil // the store refuses it with the URL's own message
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("webhook %q: %s", raw, allowHint)
	}
	if ip, err := netip.ParseAddr(host); err == nil && internal(ip) {
		return fmt.Errorf("webhook %q: %s", raw, allowHint)
	}
	return nil
}

// webhookClient posts notifications. Its dialer checks the address it is about to
// connect to, after DNS resolution, so a name that resolves (or is made to resolve) to
// a loopback or link-local address gets nothing; it goes direct, never through a proxy
// (which would hide the address), and follows no redirect.
func webhookClient(allowInternal bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowInternal {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook address %q: %w", address, err)
			}
			if internal(ap.Addr()) {
				return fmt.Errorf("webhook address %s: %s", ap.Addr(), allowHint)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	return &http.Client{
		Transport: tr,
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is a failed delivery, shown on the notification
		},
	}
}
