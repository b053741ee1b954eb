package localapi

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

// FuzzDecodeRequest feeds raw bytes, as a local caller may write them to the socket, to
// net/http's request reader and then to decodeRequest. It must never panic; what it
// accepts is printable text of bounded length that decodes the same way again once
// re-encoded; what it refuses carries a stable code and a message with nothing
// unprintable in it. Seeds in testdata/fuzz/FuzzDecodeRequest: each route, browsers,
// repeated, unknown and malformed parameters, control characters, bad UTF-8, long values, an idle report.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte("GET /v0/check?product=revit HTTP/1.1\r\nHost: tollgate\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return // net/http answers those itself
		}
		req, bad := decodeRequest(r)
		if bad != nil {
			if bad.Code != CodeBadRequest && bad.Code != CodeBrowserRefused {
				t.Fatalf("got code %q, want bad_request or browser_refused", bad.Code)
			}
			if !sane(bad.Message) && len(bad.Message) <= maxParam {
				t.Fatalf("refusal message %q is not printable", bad.Message)
			}
			return
		}
		for _, v := range []string{req.product, req.user, req.idle} {
			if !sane(v) {
				t.Fatalf("accepted %q, which is not printable text of at most %d bytes", v, maxParam)
			}
		}
		q := url.Values{}
		if req.product != "" {
			q.Set("product", req.product)
		}
		if req.user != "" {
			q.Set("user", req.user)
		}
		if req.idle != "" {
			q.Set("idle", req.idle)
		}
		again, err := http.NewRequest(http.MethodGet, "http://tollgate/v0/check?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, bad := decodeRequest(again); bad != nil || got != req {
			t.Fatalf("re-encoded %+v decodes as %+v %v", req, got, bad)
		}
	})
}
