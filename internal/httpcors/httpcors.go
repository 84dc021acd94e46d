// Package httpcors lets web pages call Veil's Connect APIs (the node's
// NodeService, a worker's ContractService and Info) from another origin,
// and keeps them away from the procedures they must never drive.
//
// It is a small standard-library handler rather than a dependency: the
// Connect and gRPC-Web protocols need a fixed set of methods and headers
// (the lists of connectrpc.com/cors), and Veil's APIs never use cookies or
// HTTP authentication, so the whole policy is an origin allow-list.
//
// Why "*" is a safe default for the public APIs: CORS protects what a
// browser would send on the user's behalf (cookies, HTTP auth, client
// certificates) and what only the user's network can reach. Veil's APIs
// take no credentials at all — transactions are signed, contract commands
// and queries are sealed and signed end to end — so a page on any origin
// can do nothing through the user's browser that it could not do by
// calling the API from its own server. Access-Control-Allow-Credentials is
// never sent, so browsers never attach cookies to these requests either.
// The procedures that do carry authority (a worker's relayer-facing
// control RPCs) are wrapped with RefuseBrowsers instead.
package httpcors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Methods a browser may use: POST for every protocol, GET for Connect's
// side-effect-free GET requests.
var Methods = []string{http.MethodGet, http.MethodPost}

// Headers a browser may send: those of the Connect and gRPC-Web protocols
// (connectrpc.com/cors AllowedHeaders).
var Headers = []string{
	"Content-Type",
	"Connect-Protocol-Version",
	"Connect-Timeout-Ms",
	"Connect-Accept-Encoding",
	"Connect-Content-Encoding",
	"Accept-Encoding",
	"Content-Encoding",
	"Grpc-Timeout",
	"X-Grpc-Web",
	"X-User-Agent",
}

// ExposedHeaders are the response headers a page may read beyond the
// CORS-safelisted ones (Content-Type, Content-Length, … are always
// readable): gRPC-Web's status in headers, and the compression headers.
var ExposedHeaders = []string{
	"Grpc-Status",
	"Grpc-Message",
	"Grpc-Status-Details-Bin",
	"Content-Encoding",
	"Connect-Content-Encoding",
	"Connect-Accept-Encoding",
}

// MaxAge is how long (seconds) a browser may cache a preflight answer.
const MaxAge = 7200

// Any is the allow-list entry that admits every origin.
const Any = "*"

// Policy is an origin allow-list. The zero value admits no origin.
type Policy struct {
	any     bool
	origins map[string]bool
}

// ErrBadOrigin marks an allow-list entry that is not an origin.
var ErrBadOrigin = errors.New("not a web origin")

// New builds a policy from allow-list entries: "*" for any origin, or
// origins as browsers send them, scheme://host[:port] without a path or
// a trailing slash (https://app.example.com, http://127.0.0.1:5173).
// Entries are case-insensitive; an empty list admits no origin. An entry
// that could never match a browser's Origin header is an error rather
// than silently useless.
func New(origins []string) (*Policy, error) {
	p := &Policy{origins: map[string]bool{}}
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == Any {
			p.any = true
			continue
		}
		norm, err := normalize(o)
		if err != nil {
			return nil, err
		}
		p.origins[norm] = true
	}
	return p, nil
}

// Validate checks allow-list entries without building a policy, so a
// configuration is refused before anything starts.
func Validate(origins []string) error {
	_, err := New(origins)
	return err
}

// ParseList splits a comma-separated allow-list as flags take it ("*",
// "https://a.example,https://b.example"); blank entries are dropped, so
// "" is the empty list (no browser access). The entries are validated.
func ParseList(s string) ([]string, error) {
	var out []string
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	if err := Validate(out); err != nil {
		return nil, err
	}
	return out, nil
}

func normalize(o string) (string, error) {
	if o == "null" {
		// Sandboxed frames and file:// pages all send "null": admitting
		// it would admit every one of them.
		return "", fmt.Errorf("%w: %q (sent by sandboxed and file:// pages alike; use \"*\" to admit every origin)", ErrBadOrigin, o)
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return "", fmt.Errorf("%w: %q (want scheme://host[:port], e.g. https://app.example.com, or \"*\")", ErrBadOrigin, o)
	}
	return strings.ToLower(o), nil
}

// AllowsAny reports whether every origin is admitted.
func (p *Policy) AllowsAny() bool { return p != nil && p.any }

// Allows reports whether a page of origin may call the API.
func (p *Policy) Allows(origin string) bool {
	if p == nil || origin == "" {
		return false
	}
	return p.any || p.origins[strings.ToLower(origin)]
}

// Handler answers CORS preflights for next and adds the CORS headers to
// the responses of admitted origins. A preflight from an origin that is
// not admitted, for a method other than GET or POST, or asking for a
// header outside Headers is refused with 403 and no CORS headers. An
// actual request from an origin that is not admitted is served without
// CORS headers: non-browser clients are unaffected and the browser keeps
// the response from the page.
func (p *Policy) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if isPreflight(r) {
			p.preflight(w, r, origin)
			return
		}
		h := w.Header()
		if !p.AllowsAny() {
			// The answer depends on the Origin (also when there is
			// none): caches must not hand one origin's to another.
			h.Add("Vary", "Origin")
		}
		if p.Allows(origin) {
			h.Set("Access-Control-Allow-Origin", p.allowOrigin(origin))
			h.Set("Access-Control-Expose-Headers", strings.Join(ExposedHeaders, ", "))
		}
		next.ServeHTTP(w, r)
	})
}

// isPreflight: a CORS preflight is an OPTIONS request naming the method
// of the request it asks for (and the page's origin).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

func (p *Policy) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if !p.Allows(origin) {
		http.Error(w, "CORS: origin "+strconv.Quote(origin)+" is not allowed", http.StatusForbidden)
		return
	}
	if m := r.Header.Get("Access-Control-Request-Method"); !slices.Contains(Methods, m) {
		http.Error(w, "CORS: method "+strconv.Quote(m)+" is not allowed (GET, POST)", http.StatusForbidden)
		return
	}
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(line, ",") {
			if name = strings.TrimSpace(name); name != "" && !slices.ContainsFunc(Headers, func(a string) bool { return strings.EqualFold(a, name) }) {
				http.Error(w, "CORS: request header "+strconv.Quote(name)+" is not allowed", http.StatusForbidden)
				return
			}
		}
	}
	h.Set("Access-Control-Allow-Origin", p.allowOrigin(origin))
	h.Set("Access-Control-Allow-Methods", strings.Join(Methods, ", "))
	h.Set("Access-Control-Allow-Headers", strings.Join(Headers, ", "))
	h.Set("Access-Control-Max-Age", strconv.Itoa(MaxAge))
	w.WriteHeader(http.StatusNoContent)
}

// allowOrigin is the Access-Control-Allow-Origin value: the literal "*"
// when every origin is admitted (cacheable by any origin; valid because
// no credentials are ever involved), else the page's own origin.
func (p *Policy) allowOrigin(origin string) string {
	if p.AllowsAny() {
		return Any
	}
	return origin
}

// RefuseBrowsers fails closed for procedures no web page may drive (a
// worker's relayer-facing control RPCs): a request that carries any
// header only browsers send — Origin (on every cross-origin and every
// POST request), Sec-Fetch-Site or Sec-Fetch-Mode (on every request of a
// current browser) — is refused with 403 and no CORS headers, a preflight
// included. Such a request never reaches next, so even a "simple"
// cross-origin request that needs no preflight (a form post, a no-cors
// fetch) cannot trigger a side effect. Programs (the relayer, the CLI,
// curl) send none of these headers and are unaffected.
func RefuseBrowsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Sec-Fetch-Mode") != "" {
			http.Error(w, "this procedure is not available to web pages", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
