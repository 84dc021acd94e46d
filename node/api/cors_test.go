package api

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/internal/httpcors"
)

// corsServer serves the API's real handler stack. The requests below are
// refused by the handlers' own input checks (a 3-byte tx hash), which run
// before any chain state is read, so the service needs no chain.
func corsServer(t *testing.T, origins []string) *httptest.Server {
	t.Helper()
	srv, err := New(nil, nil, slog.New(slog.DiscardHandler)).HTTPServer(origins)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler)
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestCORSBrowserCalls: what a page on another origin (the Web UI on
// 127.0.0.1:26690, a dApp) goes through with Connect and gRPC-Web.
func TestCORSBrowserCalls(t *testing.T) {
	ts := corsServer(t, []string{"*"})
	const origin = "http://127.0.0.1:26690"
	getTx := ts.URL + "/veil.node.v1.NodeService/GetTx"

	pre, _ := http.NewRequest(http.MethodOptions, getTx, nil)
	pre.Header.Set("Origin", origin)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type,connect-protocol-version,connect-timeout-ms")
	resp, _ := do(t, pre)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Max-Age") != "7200" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Connect-Protocol-Version") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// Connect + JSON: the error is readable by the page.
	req, _ := http.NewRequest(http.MethodPost, getTx, strings.NewReader(`{"hash":"AAEC"}`))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_argument") {
		t.Fatalf("connect call: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("connect answer without Allow-Origin: %v", resp.Header)
	}

	// gRPC-Web: the status travels in headers the page must be allowed
	// to read.
	msg, err := proto.Marshal(&nodev1.GetTxRequest{Hash: []byte{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	req, _ = http.NewRequest(http.MethodPost, getTx, strings.NewReader(string(append(frame, msg...))))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	req.Header.Set("X-Grpc-Web", "1")
	resp, _ = do(t, req)
	if resp.Header.Get("Grpc-Status") != "3" {
		t.Fatalf("grpc-web call: status %d, headers %v", resp.StatusCode, resp.Header)
	}
	exposed := resp.Header.Get("Access-Control-Expose-Headers")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(exposed, "Grpc-Status") || !strings.Contains(exposed, "Grpc-Message") {
		t.Fatalf("grpc-web answer: Allow-Origin %q, Expose-Headers %q", resp.Header.Get("Access-Control-Allow-Origin"), exposed)
	}
}

// TestCORSAllowList: with an explicit list, other origins get no CORS
// headers (their preflight is refused); a bad entry is refused up front.
func TestCORSAllowList(t *testing.T) {
	ts := corsServer(t, []string{"https://app.example.com"})
	for origin, want := range map[string]int{"https://app.example.com": http.StatusNoContent, "https://evil.example": http.StatusForbidden} {
		pre, _ := http.NewRequest(http.MethodOptions, ts.URL+"/veil.node.v1.NodeService/GetStatus", nil)
		pre.Header.Set("Origin", origin)
		pre.Header.Set("Access-Control-Request-Method", "POST")
		resp, _ := do(t, pre)
		if resp.StatusCode != want {
			t.Errorf("%s: preflight status %d, want %d", origin, resp.StatusCode, want)
		}
		if allowed := resp.Header.Get("Access-Control-Allow-Origin"); (want == http.StatusNoContent) != (allowed == origin) {
			t.Errorf("%s: Allow-Origin %q", origin, allowed)
		}
	}
	if _, err := New(nil, nil, slog.New(slog.DiscardHandler)).HTTPServer([]string{"https://app.example.com/"}); !errors.Is(err, httpcors.ErrBadOrigin) {
		t.Fatalf("origin with a path accepted: %v", err)
	}
}
