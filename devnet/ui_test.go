package devnet_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/devnet"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// builtUI writes a small Vite-like build: index.html, hashed assets, a
// root file.
func builtUI(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dist")
	writeFile(t, filepath.Join(dir, "index.html"), `<!doctype html><script type="module" src="/assets/index-1a2b.js"></script>`)
	writeFile(t, filepath.Join(dir, "assets", "index-1a2b.js"), "console.log('veil')")
	writeFile(t, filepath.Join(dir, "assets", "index-3c4d.css"), "body{}")
	writeFile(t, filepath.Join(dir, "assets", "sr25519-5e6f.wasm"), "\x00asm\x01\x00\x00\x00")
	writeFile(t, filepath.Join(dir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>")
	return dir
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestUIStaticFiles(t *testing.T) {
	h := devnet.NewUIHandler(builtUI(t))
	if !h.Built() {
		t.Fatal("a built UI reported as not built")
	}
	for _, tc := range []struct {
		path, contentType, cache, body string
	}{
		{"/", "text/html; charset=utf-8", "no-cache", "index-1a2b.js"},
		{"/index.html", "text/html; charset=utf-8", "no-cache", "index-1a2b.js"},
		{"/assets/index-1a2b.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log"},
		{"/assets/index-3c4d.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{}"},
		{"/assets/sr25519-5e6f.wasm", "application/wasm", "public, max-age=31536000, immutable", "\x00asm"},
		{"/favicon.svg", "image/svg+xml", "no-cache", "<svg"},
		// Client-side routes of the single-page app.
		{"/contracts/hello-world", "text/html; charset=utf-8", "no-cache", "index-1a2b.js"},
		{"/assets", "text/html; charset=utf-8", "no-cache", "index-1a2b.js"},
	} {
		rec := get(t, h, tc.path)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", tc.path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != tc.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if got := rec.Header().Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, got, tc.cache)
		}
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s: body %q", tc.path, rec.Body)
		}
	}
	// A missing file with an extension is a 404, not the app.
	for _, p := range []string{"/assets/index-0000.js", "/robots.txt"} {
		if rec := get(t, h, p); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d", rec.Code)
	}
}

// TestUITraversal: nothing outside the UI directory is served, through
// "..", encoded dots or a symbolic link.
func TestUITraversal(t *testing.T) {
	dir := builtUI(t)
	outside := filepath.Join(filepath.Dir(dir), "secret.txt")
	writeFile(t, outside, "TOP SECRET")
	if err := os.Symlink(outside, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(dir), filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	h := devnet.NewUIHandler(dir)
	for _, target := range []string{"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/link.txt", "/up/secret.txt", "/up/dist/../secret.txt"} {
		rec := get(t, h, target)
		if strings.Contains(rec.Body.String(), "TOP SECRET") {
			t.Errorf("%s served the file outside the UI directory", target)
		}
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, rec.Code)
		}
	}
	// A request path that is not clean must not escape either.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.URL.Path = "/../../secret.txt"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if strings.Contains(rec.Body.String(), "TOP SECRET") || rec.Code != http.StatusNotFound {
		t.Errorf("raw ..: status %d", rec.Code)
	}
}

func TestUINetworkJSON(t *testing.T) {
	h := devnet.NewUIHandler(builtUI(t))
	if rec := get(t, h, "/network.json"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("before SetNetwork: status %d", rec.Code)
	}
	home := "/home/dev/.veil/dev"
	info := &client.Network{
		ChainID: "veil-dev",
		Node:    client.Endpoints{API: "http://127.0.0.1:26602", RPC: "http://127.0.0.1:26601", P2P: "tcp://127.0.0.1:26600"},
		Validators: []client.Validator{{Moniker: "validator0", Home: home + "/validators/validator0", NodeID: "a1b2",
			Node: client.Endpoints{API: "http://127.0.0.1:26602", RPC: "http://127.0.0.1:26601", P2P: "tcp://127.0.0.1:26600"}}},
		Workers: []client.WorkerInfo{{Name: "worker0", API: "http://127.0.0.1:26700", Identity: "0xab", TEE: "simulated",
			Operator: "5Fop", OperatorURI: "//Alice//worker0", Home: home + "/workers/worker0", RelayNode: "http://127.0.0.1:26602"}},
		Contracts: json.RawMessage(`{"hello-world":{"id":"00ff","address":"5Ctr","code_hash":"11ee"}}`),
		UI:        "http://127.0.0.1:26690/",
		Home:      home,
		PID:       4242,
	}
	if err := h.SetNetwork(info); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/network.json", nil)
	r.Header.Set("Origin", "http://127.0.0.1:5173") // the UI's dev server
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("network.json: %d %v", rec.Code, rec.Header())
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("network.json not readable by another origin: %v", rec.Header())
	}
	body := rec.Body.String()
	for _, secret := range []string{home, "//Alice//worker0", "operator_uri", "4242", "\"pid\"", "\"home\"", "relay_node", "node_id", "p2p"} {
		if strings.Contains(body, secret) {
			t.Errorf("network.json exposes %q:\n%s", secret, body)
		}
	}
	var got devnet.PublicNetwork
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := devnet.PublicNetwork{
		ChainID:    "veil-dev",
		Node:       devnet.PublicEndpoints{API: "http://127.0.0.1:26602", RPC: "http://127.0.0.1:26601"},
		Validators: []devnet.PublicValidator{{Moniker: "validator0", Node: devnet.PublicEndpoints{API: "http://127.0.0.1:26602", RPC: "http://127.0.0.1:26601"}}},
		Workers:    []devnet.PublicWorker{{Name: "worker0", API: "http://127.0.0.1:26700", Identity: "0xab", TEE: "simulated", Operator: "5Fop"}},
		Contracts:  json.RawMessage(`{"hello-world":{"id":"00ff","address":"5Ctr","code_hash":"11ee"}}`),
		UI:         "http://127.0.0.1:26690/",
	}
	var c1, c2 any
	json.Unmarshal(got.Contracts, &c1)
	json.Unmarshal(want.Contracts, &c2)
	got.Contracts, want.Contracts = nil, nil
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(c1, c2) {
		t.Fatalf("network.json:\n got %+v %v\nwant %+v %v", got, c1, want, c2)
	}
	// Lists are [] rather than null for a network without workers.
	if err := h.SetNetwork(&client.Network{ChainID: "x"}); err != nil {
		t.Fatal(err)
	}
	if b := get(t, h, "/network.json").Body.String(); !strings.Contains(b, `"workers": []`) || !strings.Contains(b, `"validators": []`) {
		t.Errorf("empty network: %s", b)
	}
}

// TestUINotBuilt: without index.html the server explains how to build the
// UI, still serves /network.json, and serves the UI once it is built.
func TestUINotBuilt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dist") // does not exist yet
	h := devnet.NewUIHandler(dir)
	if h.Built() {
		t.Fatal("a missing directory reported as built")
	}
	if err := h.SetNetwork(&client.Network{ChainID: "veil-dev"}); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		for _, p := range []string{"/", "/contracts"} {
			rec := get(t, h, p)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make web") || !strings.Contains(rec.Body.String(), "npm ci") ||
				rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("%s %s: %d %q", stage, p, rec.Code, rec.Body)
			}
		}
		if rec := get(t, h, "/assets/index-1a2b.js"); rec.Code != http.StatusNotFound {
			t.Errorf("%s: asset status %d", stage, rec.Code)
		}
		if rec := get(t, h, "/network.json"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "veil-dev") {
			t.Errorf("%s: network.json %d", stage, rec.Code)
		}
	}
	check("missing directory")
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	check("empty directory")

	// Built while the network runs ('make web'): the next load has it.
	writeFile(t, filepath.Join(dir, "index.html"), "<!doctype html><title>Veil</title>")
	if !h.Built() {
		t.Fatal("not built after index.html appeared")
	}
	if rec := get(t, h, "/"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<title>Veil</title>") {
		t.Fatalf("after the build: %d %q", rec.Code, rec.Body)
	}
}
