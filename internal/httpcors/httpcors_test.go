package httpcors

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// echo is the wrapped API: it records that it ran and answers "served".
type echo struct{ calls int }

func (e *echo) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	e.calls++
	w.Header().Set("Grpc-Status", "0")
	io.WriteString(w, "served")
}

func mustPolicy(t *testing.T, origins ...string) *Policy {
	t.Helper()
	p, err := New(origins)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func preflight(origin, method, headers string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/veil.node.v1.NodeService/GetStatus", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// connectWebHeaders is what @connectrpc/connect-web asks for on a unary
// JSON call with a timeout.
const connectWebHeaders = "connect-protocol-version,connect-timeout-ms,content-type"

func TestCORSPreflight(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    []string
		origin    string
		wantAllow string
	}{
		{"any origin", []string{"*"}, "https://app.example.com", "*"},
		{"listed origin", []string{"https://app.example.com", "http://127.0.0.1:5173"}, "http://127.0.0.1:5173", "http://127.0.0.1:5173"},
		{"listed origin, other case", []string{"https://App.Example.com"}, "https://app.example.com", "https://app.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := &echo{}
			rec := serve(mustPolicy(t, tc.policy...).Handler(next), preflight(tc.origin, "POST", connectWebHeaders))
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204 (body %q)", rec.Code, rec.Body)
			}
			if next.calls != 0 {
				t.Fatal("the preflight reached the API")
			}
			h := rec.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.wantAllow {
				t.Errorf("Allow-Origin %q, want %q", got, tc.wantAllow)
			}
			if got := h.Get("Access-Control-Allow-Methods"); got != "GET, POST" {
				t.Errorf("Allow-Methods %q", got)
			}
			allowed := h.Get("Access-Control-Allow-Headers")
			for _, want := range []string{"Content-Type", "Connect-Protocol-Version", "Connect-Timeout-Ms", "Grpc-Timeout", "X-Grpc-Web", "X-User-Agent"} {
				if !strings.Contains(allowed, want) {
					t.Errorf("Allow-Headers %q lacks %s", allowed, want)
				}
			}
			if got := h.Get("Access-Control-Max-Age"); got != "7200" {
				t.Errorf("Max-Age %q", got)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed")
			}
			if !slices.Contains(h.Values("Vary"), "Origin") {
				t.Errorf("Vary %q lacks Origin", h.Values("Vary"))
			}
		})
	}
}

func TestCORSPreflightRefused(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		policy                  []string
		origin, method, headers string
	}{
		{"origin not listed", []string{"https://app.example.com"}, "https://evil.example", "POST", connectWebHeaders},
		{"empty allow-list", nil, "https://app.example.com", "POST", connectWebHeaders},
		{"prefix of a listed origin", []string{"https://app.example.com"}, "https://app.example.co", "POST", ""},
		{"method PUT", []string{"*"}, "https://app.example.com", "PUT", ""},
		{"Authorization header", []string{"*"}, "https://app.example.com", "POST", "content-type,authorization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := &echo{}
			rec := serve(mustPolicy(t, tc.policy...).Handler(next), preflight(tc.origin, tc.method, tc.headers))
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", rec.Code)
			}
			if next.calls != 0 {
				t.Fatal("the refused preflight reached the API")
			}
			for k := range rec.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("refused preflight carries %s", k)
				}
			}
		})
	}
}

func TestCORSActualRequest(t *testing.T) {
	post := func(origin string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/veil.node.v1.NodeService/GetStatus", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	p := mustPolicy(t, "https://app.example.com")
	next := &echo{}
	rec := serve(p.Handler(next), post("https://app.example.com"))
	if rec.Code != http.StatusOK || rec.Body.String() != "served" || next.calls != 1 {
		t.Fatalf("admitted request: status %d, body %q, calls %d", rec.Code, rec.Body, next.calls)
	}
	h := rec.Header()
	if got := h.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Errorf("Allow-Origin %q", got)
	}
	exposed := h.Get("Access-Control-Expose-Headers")
	for _, want := range []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "Connect-Content-Encoding"} {
		if !strings.Contains(exposed, want) {
			t.Errorf("Expose-Headers %q lacks %s", exposed, want)
		}
	}
	if !slices.Contains(h.Values("Vary"), "Origin") {
		t.Error("a listed-origin answer without Vary: Origin")
	}

	// Another origin: served (programs are unaffected) but without CORS
	// headers, so the browser keeps the answer from the page.
	rec = serve(p.Handler(next), post("https://evil.example"))
	if rec.Code != http.StatusOK || next.calls != 2 {
		t.Fatalf("other origin: status %d, calls %d", rec.Code, next.calls)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("a non-listed origin got Allow-Origin")
	}
	// No Origin (curl, the Go SDK): untouched apart from Vary.
	rec = serve(p.Handler(next), post(""))
	if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origin: status %d, headers %v", rec.Code, rec.Header())
	}

	// Any origin: the literal "*", no Vary needed.
	rec = serve(mustPolicy(t, "*").Handler(next), post("http://127.0.0.1:26690"))
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("any origin: Allow-Origin %q", got)
	}
	// An OPTIONS request that is no preflight is the API's business.
	r := httptest.NewRequest(http.MethodOptions, "/x", nil)
	if serve(p.Handler(next), r); next.calls != 5 {
		t.Errorf("plain OPTIONS not passed on (calls %d)", next.calls)
	}
}

func TestCORSOriginList(t *testing.T) {
	for _, good := range []string{"*", "https://app.example.com", "http://127.0.0.1:5173", "http://[::1]:26690", "  http://localhost:5173 "} {
		if _, err := New([]string{good}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"app.example.com", "https://app.example.com/", "https://app.example.com/ui", "https://u@app.example.com",
		"https://app.example.com?x", "null", "*.example.com", ""} {
		if _, err := New([]string{bad}); !errors.Is(err, ErrBadOrigin) {
			t.Errorf("%q: err %v, want ErrBadOrigin", bad, err)
		}
	}
	got, err := ParseList(" http://127.0.0.1:5173 , https://app.example.com,,")
	if err != nil || !slices.Equal(got, []string{"http://127.0.0.1:5173", "https://app.example.com"}) {
		t.Fatalf("ParseList: %q, %v", got, err)
	}
	if got, err := ParseList(""); err != nil || len(got) != 0 {
		t.Fatalf("ParseList(\"\"): %q, %v", got, err)
	}
	if _, err := ParseList("*,https://x.example/"); !errors.Is(err, ErrBadOrigin) {
		t.Fatalf("ParseList accepted a path: %v", err)
	}
}

func TestCORSRefuseBrowsers(t *testing.T) {
	next := &echo{}
	h := RefuseBrowsers(next)
	for name, hdr := range map[string][2]string{
		"origin":         {"Origin", "https://app.example.com"},
		"sec-fetch-site": {"Sec-Fetch-Site", "cross-site"},
		"sec-fetch-mode": {"Sec-Fetch-Mode", "no-cors"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/veil.worker.v1.WorkerService/Bind", strings.NewReader("{}"))
		r.Header.Set(hdr[0], hdr[1])
		rec := serve(h, r)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: status %d, Allow-Origin %q", name, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	}
	rec := serve(h, preflight("http://127.0.0.1:26690", "POST", connectWebHeaders))
	if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight: status %d", rec.Code)
	}
	if next.calls != 0 {
		t.Fatalf("a browser request reached the procedure (%d calls)", next.calls)
	}
	r := httptest.NewRequest(http.MethodPost, "/veil.worker.v1.WorkerService/Bind", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/json")
	if rec := serve(h, r); rec.Code != http.StatusOK || next.calls != 1 {
		t.Fatalf("program request: status %d, calls %d", rec.Code, next.calls)
	}
}
