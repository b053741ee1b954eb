package ledger_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"tollgate/ledger"
)

// TestServeTLS serves HTTPS with a certificate made here and checks /healthz over it.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ledger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{ch: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- ledger.Main(ctx, out, io.Discard, []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	listening := regexp.MustCompile(`listening on (https://\S+)`)
	for !listening.MatchString(out.String()) {
		select {
		case <-out.ch:
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out.String())
		}
	}
	pool := x509.NewCertPool()
	parsed, err := x509.ParseCertificate(der)
	must(t, err)
	pool.AddCert(parsed)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(listening.FindStringSubmatch(out.String())[1] + "/healthz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("GET /healthz over TLS: got %d (TLS %v), want 200 over TLS", resp.StatusCode, resp.TLS != nil)
	}
}
