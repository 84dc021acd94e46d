package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/internal/httpcors"
)

// UIPortOffset: a network with a port base serves the Web UI on
// 127.0.0.1:PortBase+UIPortOffset (26690 by default), between the first
// validators' ports and the workers'.
const UIPortOffset = 90

// UIIndex is the file a built UI directory must hold.
const UIIndex = "index.html"

// PublicNetwork is the browser's view of a dev network (GET
// /network.json on the UI server): every endpoint a page needs, and
// nothing a page has no business with — no home directories, no process
// id, no operator secret URIs.
type PublicNetwork struct {
	ChainID    string            `json:"chain_id"`
	Node       PublicEndpoints   `json:"node"`
	Validators []PublicValidator `json:"validators"`
	Workers    []PublicWorker    `json:"workers"`
	Contracts  json.RawMessage   `json:"contracts,omitempty"`
	UI         string            `json:"ui,omitempty"`
}

// PublicEndpoints of a node.
type PublicEndpoints struct {
	API string `json:"api"`
	RPC string `json:"rpc"`
}

// PublicValidator is one validator node.
type PublicValidator struct {
	Moniker string          `json:"moniker"`
	Node    PublicEndpoints `json:"node"`
}

// PublicWorker is one TEE worker: its API (ContractService, Info), its
// identity in the registry, its platform and its operator's address.
type PublicWorker struct {
	Name     string `json:"name"`
	API      string `json:"api"`
	Identity string `json:"identity"`
	TEE      string `json:"tee"`
	Operator string `json:"operator"`
}

// PublicView is the public part of a network description.
func PublicView(n *client.Network) PublicNetwork {
	p := PublicNetwork{
		ChainID:    n.ChainID,
		Node:       PublicEndpoints{API: n.Node.API, RPC: n.Node.RPC},
		Validators: []PublicValidator{},
		Workers:    []PublicWorker{},
		Contracts:  n.Contracts,
		UI:         n.UI,
	}
	for _, v := range n.Validators {
		p.Validators = append(p.Validators, PublicValidator{Moniker: v.Moniker, Node: PublicEndpoints{API: v.Node.API, RPC: v.Node.RPC}})
	}
	for _, w := range n.Workers {
		p.Workers = append(p.Workers, PublicWorker{Name: w.Name, API: w.API, Identity: w.Identity, TEE: w.TEE, Operator: w.Operator})
	}
	return p
}

// UIHandler serves a built Web UI (a Vite app: index.html and assets/)
// and the network's public description at /network.json.
//
// Files are read through os.Root, so no request path — "..", an
// absolute path, a symbolic link pointing outside — reaches a file
// outside the directory. The directory is opened per request: a UI built
// (or rebuilt, 'make web') while the network runs is served on the next
// reload, and a missing or unbuilt UI gets a page explaining how to build
// it instead of a bare 404.
type UIHandler struct {
	dir     string
	network atomic.Pointer[[]byte]
	// networkJSON serves /network.json, with CORS for any origin so that
	// a UI under development (Vite's dev server on another port) reads it
	// too; it is public.
	networkJSON http.Handler
}

// NewUIHandler serves the UI built into dir. Set the network with
// SetNetwork before serving; until then /network.json is 503.
func NewUIHandler(dir string) *UIHandler {
	cors, _ := httpcors.New([]string{httpcors.Any}) // a constant, valid list
	h := &UIHandler{dir: dir}
	h.networkJSON = cors.Handler(http.HandlerFunc(h.serveNetwork))
	return h
}

// Built reports whether the UI directory holds a built UI (index.html).
func (h *UIHandler) Built() bool {
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		return false
	}
	defer root.Close()
	fi, err := root.Stat(UIIndex)
	return err == nil && fi.Mode().IsRegular()
}

// SetNetwork publishes the network description /network.json serves (its
// public view only). Safe to call while serving.
func (h *UIHandler) SetNetwork(n *client.Network) error {
	b, err := json.MarshalIndent(PublicView(n), "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	h.network.Store(&b)
	return nil
}

// ServeHTTP implements http.Handler: GET and HEAD only.
func (h *UIHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/network.json" {
		h.networkJSON.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	// The request path as a name inside the directory: cleaned of "." and
	// "..", never leaving the root (os.Root enforces that too).
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = UIIndex
	}
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		h.serveNotBuilt(w, r, name)
		return
	}
	defer root.Close()
	if f, fi, ok := openFile(root, name); ok {
		defer f.Close()
		serveFile(w, r, name, fi, f)
		return
	}
	// Client-side routes (/contracts, /accounts/5Grw…) have no extension
	// and are the app's: they get index.html. A missing file with an
	// extension (a stale /assets/app-1a2b.js) is a real 404.
	if path.Ext(name) != "" && name != UIIndex {
		http.NotFound(w, r)
		return
	}
	f, fi, ok := openFile(root, UIIndex)
	if !ok {
		h.serveNotBuilt(w, r, name)
		return
	}
	defer f.Close()
	serveFile(w, r, UIIndex, fi, f)
}

// openFile opens a regular file of root; directories, missing files and
// names os.Root refuses (escapes) are all "no file".
func openFile(root *os.Root, name string) (*os.File, fs.FileInfo, bool) {
	if !fs.ValidPath(name) {
		return nil, nil, false
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, false
	}
	return f, fi, true
}

// contentTypes fixes the types a Vite build needs, whatever the host's
// mime tables say (some map .js to application/x-javascript, and
// browsers compile WebAssembly streaming only as application/wasm).
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".wasm":  "application/wasm",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".txt":   "text/plain; charset=utf-8",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// serveFile sends one file. Vite puts content-hashed names under assets/,
// so those are immutable; everything else (index.html above all, which
// names the current assets) is revalidated on every load.
func serveFile(w http.ResponseWriter, r *http.Request, name string, fi fs.FileInfo, f io.ReadSeeker) {
	if strings.HasPrefix(name, "assets/") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", contentType(name))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

func (h *UIHandler) serveNetwork(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b := h.network.Load()
	if b == nil {
		http.Error(w, "the network is starting", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(*b)
}

// serveNotBuilt answers for the pages of a UI that is not built: the
// explanation where the app would be, 404 for anything else.
func (h *UIHandler) serveNotBuilt(w http.ResponseWriter, r *http.Request, name string) {
	if name != UIIndex && path.Ext(name) != "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, notBuiltPage, html.EscapeString(h.dir))
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veil Web UI not built</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code,pre{background:#f3f3f3;padding:.1rem .3rem;border-radius:4px}pre{padding:.6rem}</style>
</head><body>
<h1>The Veil Web UI is not built</h1>
<p>The dev network is running, but <code>%s</code> holds no <code>index.html</code>.
Build the UI (it needs Node.js 20.19 or newer) from the repository root:</p>
<pre>make web</pre>
<p>or by hand:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>Then reload this page. The network's endpoints are at <a href="/network.json">/network.json</a>.</p>
</body></html>
`

// uiServer is a running UI server.
type uiServer struct {
	handler *UIHandler
	srv     *http.Server
	url     string
}

// startUI serves Opts.UIDir on 127.0.0.1:PortBase+UIPortOffset (a free
// port without a port base, or with more than nine validators). A directory without a built UI is not an
// error: the server explains how to build it.
func (n *Network) startUI() error {
	h := NewUIHandler(n.Opts.UIDir)
	if !h.Built() {
		n.Opts.Logger.Warn("the Web UI is not built: serving a page that explains how to build it ('make web')", "dir", n.Opts.UIDir)
	}
	addr := "127.0.0.1:0"
	// With ten or more validators, validator 9's ports start at the UI's:
	// the UI then takes a free port (network.json and the banner say which).
	if n.Opts.PortBase > 0 && 10*len(n.Nodes) <= UIPortOffset {
		addr = fmt.Sprintf("127.0.0.1:%d", n.Opts.PortBase+UIPortOffset)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web UI: listen on %s: %w", addr, err)
	}
	s := &uiServer{handler: h, url: "http://" + ln.Addr().String() + "/",
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	log := n.Opts.Logger
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web UI server stopped", "err", err)
		}
	}()
	n.ui = s
	n.Info.UI = s.url
	if err := h.SetNetwork(n.Info); err != nil {
		n.stopUI()
		return err
	}
	abs, _ := filepath.Abs(n.Opts.UIDir)
	log.Info("web UI", "url", s.url, "dir", abs)
	return nil
}

// UIBuilt reports whether the network serves a built UI (false without
// one, or while its directory holds no index.html).
func (n *Network) UIBuilt() bool { return n.ui != nil && n.ui.handler.Built() }

func (n *Network) stopUI() {
	if n.ui == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.ui.srv.Shutdown(ctx); err != nil {
		n.ui.srv.Close()
	}
	n.ui = nil
}

// writeInfo writes network.json and publishes its public view to the UI
// server: the two never disagree.
func (n *Network) writeInfo() error {
	if err := n.Info.Write(n.netFile); err != nil {
		return err
	}
	if n.ui != nil {
		return n.ui.handler.SetNetwork(n.Info)
	}
	return nil
}
