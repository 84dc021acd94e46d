package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-tdx-guest/pcs"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/internal/sealfile"
)

// CollateralSource supplies the collateral that travels with evidence in a
// registration transaction.
type CollateralSource interface {
	Collateral(ctx context.Context, ev attest.Evidence) ([]byte, error)
}

// DefaultPCSURL is Intel's Provisioning Certification Service. A PCCS (the
// caching service most data centres run) serves the same paths.
const DefaultPCSURL = "https://api.trustedservices.intel.com"

// DefaultRootCACRLURL is where Intel publishes the SGX Root CA's CRL.
const DefaultRootCACRLURL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

// PCS fetches DCAP collateral (TCB info, QE identity, PCK CRL, root CA CRL)
// for SGX and TDX quotes from Intel PCS or a PCCS, caching every response
// on disk. Simulated evidence needs none; SEV-SNP evidence carries its
// certificates in the report's certificate table, so it gets none either.
type PCS struct {
	// BaseURL of the PCS/PCCS API (default DefaultPCSURL).
	BaseURL string
	// RootCACRLURL (default DefaultRootCACRLURL; a PCCS serves it under
	// BaseURL + "/sgx/certification/v4/rootcacrl").
	RootCACRLURL string
	// CacheDir holds cached responses; empty disables the cache.
	CacheDir string
	// MaxAge is how long a cached response is used without asking again
	// (default 1 h). Older entries are still used, with a warning, when
	// the service is unreachable: the chain judges their validity.
	MaxAge time.Duration
	Client *http.Client
	Logger *slog.Logger
}

// Collateral implements CollateralSource.
func (p *PCS) Collateral(ctx context.Context, ev attest.Evidence) ([]byte, error) {
	switch ev.Kind {
	case attest.KindSimulated, attest.KindSEVSNP:
		return nil, nil
	case attest.KindSGX, attest.KindTDX:
	default:
		return nil, fmt.Errorf("no collateral source for %q evidence", ev.Kind)
	}
	fmspc, ca, err := QuotePlatform(ev.Quote)
	if err != nil {
		return nil, err
	}
	tee := "sgx"
	if ev.Kind == attest.KindTDX {
		tee = "tdx"
	}
	base := strings.TrimRight(p.baseURL(), "/")
	col := &attest.DCAPCollateral{}

	tcb, err := p.get(ctx, fmt.Sprintf("%s/%s/certification/v4/tcb?fmspc=%s", base, tee, fmspc), "TCB info")
	if err != nil {
		return nil, err
	}
	if col.TCBInfo, col.TCBInfoSignature, err = signedJSON(tcb.Body, "tcbInfo"); err != nil {
		return nil, err
	}
	if col.TCBInfoIssuerChain, err = issuerChain(tcb.Header, "TCB info", "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"); err != nil {
		return nil, err
	}

	qe, err := p.get(ctx, fmt.Sprintf("%s/%s/certification/v4/qe/identity", base, tee), "QE identity")
	if err != nil {
		return nil, err
	}
	if col.QEIdentity, col.QEIdentitySignature, err = signedJSON(qe.Body, "enclaveIdentity"); err != nil {
		return nil, err
	}
	if col.QEIdentityIssuerChain, err = issuerChain(qe.Header, "QE identity", "SGX-Enclave-Identity-Issuer-Chain"); err != nil {
		return nil, err
	}

	crl, err := p.get(ctx, fmt.Sprintf("%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, ca), "PCK CRL")
	if err != nil {
		return nil, err
	}
	if col.PCKCRL, err = derCRL(crl.Body, "PCK CRL"); err != nil {
		return nil, err
	}
	if col.PCKCRLIssuerChain, err = issuerChain(crl.Header, "PCK CRL", "SGX-PCK-CRL-Issuer-Chain"); err != nil {
		return nil, err
	}

	root, err := p.get(ctx, p.rootCRLURL(), "root CA CRL")
	if err != nil {
		return nil, err
	}
	if col.RootCACRL, err = derCRL(root.Body, "root CA CRL"); err != nil {
		return nil, err
	}
	return col.Marshal()
}

func (p *PCS) baseURL() string {
	if p.BaseURL != "" {
		return p.BaseURL
	}
	return DefaultPCSURL
}

func (p *PCS) rootCRLURL() string {
	if p.RootCACRLURL != "" {
		return p.RootCACRLURL
	}
	return DefaultRootCACRLURL
}

func (p *PCS) log() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// QuotePlatform finds the PCK certificate in a DCAP quote's certification
// data (type 5, PEM chain; leaf first) and returns its FMSPC (upper-case
// hex, as PCS expects) and its issuing CA ("platform" or "processor").
func QuotePlatform(quote []byte) (fmspc, ca string, err error) {
	i := bytes.Index(quote, []byte("-----BEGIN CERTIFICATE-----"))
	if i < 0 {
		return "", "", errors.New("the quote carries no PCK certificate chain (certification data type 5); configure the quote provider with a PCCS")
	}
	block, _ := pem.Decode(quote[i:])
	if block == nil {
		return "", "", errors.New("the quote's PCK certificate is not valid PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", "", fmt.Errorf("parse the quote's PCK certificate: %w", err)
	}
	ext, err := pcs.PckCertificateExtensions(leaf)
	if err != nil {
		return "", "", fmt.Errorf("PCK certificate SGX extensions: %w", err)
	}
	if len(ext.FMSPC) != 12 {
		return "", "", fmt.Errorf("PCK certificate FMSPC %q is not 6 bytes of hex", ext.FMSPC)
	}
	switch cn := leaf.Issuer.CommonName; {
	case strings.Contains(cn, "Platform"):
		ca = "platform"
	case strings.Contains(cn, "Processor"):
		ca = "processor"
	default:
		return "", "", fmt.Errorf("PCK certificate issued by %q, neither the platform nor the processor CA", cn)
	}
	return strings.ToUpper(ext.FMSPC), ca, nil
}

// signedJSON extracts the exact signed member text (byte for byte: the
// signature covers it) and the hex signature of a PCS response.
func signedJSON(body []byte, member string) (text, sig string, err error) {
	var r map[string]json.RawMessage
	if err := json.Unmarshal(body, &r); err != nil {
		return "", "", fmt.Errorf("PCS %s response is not JSON: %w", member, err)
	}
	raw, ok := r[member]
	if !ok {
		return "", "", fmt.Errorf("PCS response lacks %q", member)
	}
	var s string
	if err := json.Unmarshal(r["signature"], &s); err != nil || s == "" {
		return "", "", fmt.Errorf("PCS %s response lacks its signature", member)
	}
	return string(raw), s, nil
}

// issuerChain reads a URL-encoded PEM chain header (the first name found).
func issuerChain(h http.Header, what string, names ...string) (string, error) {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			s, err := url.PathUnescape(v)
			if err != nil {
				return "", fmt.Errorf("%s issuer chain header: %w", what, err)
			}
			return s, nil
		}
	}
	return "", fmt.Errorf("PCS %s response lacks the %s header", what, names[0])
}

// derCRL accepts a CRL as DER (PCS with encoding=der, Intel's certificate
// site) or as hex text (some PCCS versions) and returns hex DER.
func derCRL(body []byte, what string) (string, error) {
	b := bytes.TrimSpace(body)
	if dec, err := hex.DecodeString(string(b)); err == nil && len(dec) > 0 {
		b = dec
	}
	if _, err := x509.ParseRevocationList(b); err != nil {
		return "", fmt.Errorf("%s is not a CRL: %w", what, err)
	}
	return hex.EncodeToString(b), nil
}

// response is a fetched (or cached) HTTP response.
type response struct {
	URL       string      `json:"url"`
	FetchedAt time.Time   `json:"fetched_at"`
	Body      []byte      `json:"body"`
	Header    http.Header `json:"header"`
}

const maxPCSResponse = 4 << 20

// get returns a fresh cached response or fetches one, falling back to a
// stale cache entry when the service cannot be reached.
func (p *PCS) get(ctx context.Context, u, what string) (*response, error) {
	maxAge := p.MaxAge
	if maxAge <= 0 {
		maxAge = time.Hour
	}
	cached := p.readCache(u)
	if cached != nil && time.Since(cached.FetchedAt) < maxAge {
		return cached, nil
	}
	r, err := p.fetch(ctx, u)
	if err == nil {
		p.writeCache(r)
		return r, nil
	}
	if cached != nil {
		p.log().Warn("collateral service unreachable; using a cached response", "what", what, "url", u, "fetched_at", cached.FetchedAt, "err", err)
		return cached, nil
	}
	return nil, fmt.Errorf("fetch %s from %s: %w (is the Intel PCS/PCCS reachable? set --pcs-url to your PCCS)", what, u, err)
}

func (p *PCS) fetch(ctx context.Context, u string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	c := p.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPCSResponse+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPCSResponse {
		return nil, fmt.Errorf("response larger than %d bytes", maxPCSResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	return &response{URL: u, FetchedAt: time.Now().UTC(), Body: body, Header: resp.Header.Clone()}, nil
}

func (p *PCS) cachePath(u string) string {
	h := sha256.Sum256([]byte(u))
	return filepath.Join(p.CacheDir, hex.EncodeToString(h[:16])+".json")
}

func (p *PCS) readCache(u string) *response {
	if p.CacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(p.cachePath(u))
	if err != nil {
		return nil
	}
	var r response
	if json.Unmarshal(b, &r) != nil || r.URL != u {
		return nil
	}
	return &r
}

func (p *PCS) writeCache(r *response) {
	if p.CacheDir == "" {
		return
	}
	b, err := json.Marshal(r)
	if err == nil {
		if err = os.MkdirAll(p.CacheDir, 0o700); err == nil {
			err = sealfile.WriteAtomic(p.cachePath(r.URL), b, 0o600)
		}
	}
	if err != nil {
		p.log().Warn("could not cache a collateral response", "url", r.URL, "err", err)
	}
}
