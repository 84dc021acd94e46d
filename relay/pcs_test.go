package relay

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-network/veil/attest"
)

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../shared/testdata/attestation", rel))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared attestation test data %q is absent (expected under ../shared/testdata/attestation relative to the repository root)", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakePCS serves a collateral file laid out as Intel PCS's v4 API answers
// (JSON bodies with the signed member, URL-encoded issuer chains in
// headers, DER CRLs), on loopback: tests never touch the network.
func fakePCS(t *testing.T, tee, fmspc, ca string, col *attest.DCAPCollateral) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	der := func(h string) []byte {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/"+tee+"/certification/v4/tcb", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Query().Get("fmspc") != fmspc {
			http.Error(w, "unknown fmspc", http.StatusNotFound)
			return
		}
		w.Header().Set("TCB-Info-Issuer-Chain", url.PathEscape(col.TCBInfoIssuerChain))
		w.Write([]byte(`{"tcbInfo":` + col.TCBInfo + `,"signature":"` + col.TCBInfoSignature + `"}`))
	})
	mux.HandleFunc("/"+tee+"/certification/v4/qe/identity", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("SGX-Enclave-Identity-Issuer-Chain", url.PathEscape(col.QEIdentityIssuerChain))
		w.Write([]byte(`{"enclaveIdentity":` + col.QEIdentity + `,"signature":"` + col.QEIdentitySignature + `"}`))
	})
	mux.HandleFunc("/sgx/certification/v4/pckcrl", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Query().Get("ca") != ca || r.URL.Query().Get("encoding") != "der" {
			http.Error(w, "bad ca", http.StatusBadRequest)
			return
		}
		w.Header().Set("SGX-PCK-CRL-Issuer-Chain", url.PathEscape(col.PCKCRLIssuerChain))
		w.Write(der(col.PCKCRL))
	})
	mux.HandleFunc("/IntelSGXRootCA.der", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		// As hex text, as some PCCS versions answer.
		w.Write([]byte(col.RootCACRL + "\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestPCSCollateral(t *testing.T) {
	for _, c := range []struct {
		name, quote, collateral, at string
		kind                        attest.Kind
	}{
		{"sgx", "dcap-qvl/sgx_quote", "dcap-qvl/sgx_quote_collateral.json", "2025-06-20T00:00:00Z", attest.KindSGX},
		{"tdx", "dcap-qvl/tdx_quote", "dcap-qvl/tdx_quote_collateral.json", "2025-06-20T00:00:00Z", attest.KindTDX},
	} {
		t.Run(c.name, func(t *testing.T) {
			quote, _ := attest.TrimQuotePadding(readShared(t, c.quote))
			want, err := attest.ParseDCAPCollateral(readShared(t, c.collateral))
			if err != nil {
				t.Fatal(err)
			}
			fmspc, ca, err := QuotePlatform(quote)
			if err != nil {
				t.Fatal(err)
			}
			if len(fmspc) != 12 || strings.ToUpper(fmspc) != fmspc || (ca != "platform" && ca != "processor") {
				t.Fatalf("fmspc %q ca %q", fmspc, ca)
			}
			srv, hits := fakePCS(t, string(c.kind), fmspc, ca, want)
			cache := t.TempDir()
			p := &PCS{BaseURL: srv.URL, RootCACRLURL: srv.URL + "/IntelSGXRootCA.der", CacheDir: cache}
			ev := attest.Evidence{Kind: c.kind, Quote: quote}
			got, err := p.Collateral(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := attest.ParseDCAPCollateral(got)
			if err != nil {
				t.Fatal(err)
			}
			if *parsed != *want {
				t.Fatal("fetched collateral differs from what PCS served")
			}
			at, _ := time.Parse(time.RFC3339, c.at)
			if _, err := attest.NewVerifier().Verify(ev, got, attest.Policy{}, at); err != nil {
				t.Fatalf("fetched collateral does not verify the quote: %v", err)
			}
			if hits.Load() != 4 {
				t.Fatalf("%d requests, want 4", hits.Load())
			}
			// Within MaxAge the cache answers.
			if _, err := p.Collateral(context.Background(), ev); err != nil || hits.Load() != 4 {
				t.Fatalf("cached: %v, %d requests", err, hits.Load())
			}
			// Unreachable service: stale cache entries stand in.
			srv.Close()
			p.MaxAge = time.Nanosecond
			again, err := p.Collateral(context.Background(), ev)
			if err != nil || string(again) != string(got) {
				t.Fatalf("stale cache fallback: %v", err)
			}
			// Without a cache, a clear error.
			p.CacheDir = ""
			if _, err := p.Collateral(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "PCS/PCCS reachable") {
				t.Fatalf("unreachable: %v", err)
			}
		})
	}
}

func TestPCSErrors(t *testing.T) {
	quote := readShared(t, "dcap-qvl/sgx_quote")
	want, _ := attest.ParseDCAPCollateral(readShared(t, "dcap-qvl/sgx_quote_collateral.json"))
	fmspc, _, err := QuotePlatform(quote)
	if err != nil {
		t.Fatal(err)
	}
	// A PCS that knows another CA: the CRL request fails with its status.
	srv, _ := fakePCS(t, "sgx", fmspc, "nonsense", want)
	p := &PCS{BaseURL: srv.URL, RootCACRLURL: srv.URL + "/IntelSGXRootCA.der"}
	if _, err := p.Collateral(context.Background(), attest.Evidence{Kind: attest.KindSGX, Quote: quote}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("bad CA: %v", err)
	}
	// Quotes without a PCK chain, and evidence needing no collateral.
	if _, _, err := QuotePlatform(readShared(t, "oasis-core/negative/sgx_v3_quote_encrypted_ppid")); err == nil {
		t.Fatal("encrypted PPID quote has a platform")
	}
	for _, k := range []attest.Kind{attest.KindSimulated, attest.KindSEVSNP} {
		if c, err := p.Collateral(context.Background(), attest.Evidence{Kind: k}); err != nil || c != nil {
			t.Fatalf("%s: %v %v", k, c, err)
		}
	}
	if _, err := p.Collateral(context.Background(), attest.Evidence{Kind: "nitro"}); err == nil {
		t.Fatal("unknown kind")
	}
	// Malformed PCS answers.
	if _, _, err := signedJSON([]byte(`{"tcbInfo":{}}`), "tcbInfo"); err == nil {
		t.Fatal("unsigned TCB info accepted")
	}
	if _, err := derCRL([]byte("not a crl"), "x"); err == nil {
		t.Fatal("garbage CRL accepted")
	}
	raw := json.RawMessage(`{"tcbInfo": {"a" : 1},"signature":"ab"}`)
	if text, _, err := signedJSON(raw, "tcbInfo"); err != nil || text != `{"a" : 1}` {
		t.Fatalf("signed text not kept byte for byte: %q %v", text, err)
	}
}
