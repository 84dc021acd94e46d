package attest

// The seeds are real quotes and collateral (up to 15 KB). Go's fuzzer
// minimises every new interesting input, which for inputs that large takes
// longer than the fuzzing itself; run the targets with minimisation off:
//
//	go test ./attest -run '^$' -fuzz '^FuzzAttestCollateral$' -fuzztime 1m -fuzzminimizetime 0

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sevdata "github.com/google/go-sev-guest/verify/testdata"
	tdxdata "github.com/google/go-tdx-guest/testing/testdata"
)

// addSharedSeeds adds shared test vectors to a fuzz corpus when present
// (fuzzing still runs on the built-in seeds without them).
func addSharedSeeds(f *testing.F, rels ...string) {
	for _, rel := range rels {
		if b, err := os.ReadFile(filepath.Join(sharedAttestationDir, rel)); err == nil {
			f.Add(b)
		}
	}
}

// FuzzAttestParseQuote covers the SGX v3 and TDX v4/v5 (TD 1.0 and 1.5)
// parsers: no input may panic, and an accepted quote has exactly the length
// its fields declare.
func FuzzAttestParseQuote(f *testing.F) {
	addSharedSeeds(f, "dcap-qvl/sgx_quote", "dcap-qvl/tdx_quote", "dcap-qvl/tdx_quote_outdated",
		"oasis-core/sgx_v3_quote", "oasis-core/tdx_v4_quote", "oasis-core/negative/sgx_v3_quote_encrypted_ppid")
	f.Add(tdxdata.RawQuote)
	f.Add([]byte{5, 0, 2, 0, 0x81, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := parseQuote(data)
		if err != nil {
			return
		}
		if n, ok := quoteLength(data); !ok || n != len(data) {
			t.Fatalf("parsed quote of %d bytes declares %d (%v)", len(data), n, ok)
		}
		if (q.sgx == nil) == (q.td == nil) {
			t.Fatal("exactly one body must be set")
		}
		if trimmed, n := TrimQuotePadding(data); n != 0 || !bytes.Equal(trimmed, data) {
			t.Fatal("exact quote trimmed")
		}
	})
}

// FuzzAttestVerifyDCAP runs the whole DCAP verifier on mutated quotes with
// genuine collateral: it must never panic nor accept a mutation.
func FuzzAttestVerifyDCAP(f *testing.F) {
	quote, errQ := os.ReadFile(filepath.Join(sharedAttestationDir, "oasis-core/sgx_v3_quote"))
	col, errC := os.ReadFile(filepath.Join(sharedAttestationDir, "oasis-core/sgx_v3_quote_collateral.json"))
	if errQ != nil || errC != nil {
		f.Skip("shared attestation test data is absent (expected under ../shared/testdata/attestation relative to the repository root)")
	}
	f.Add(quote)
	v := NewVerifier()
	when := time.Unix(1671497404, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := v.Verify(Evidence{Kind: KindSGX, Quote: data}, col, Policy{}, when)
		if err == nil && !bytes.Equal(data, quote) {
			t.Fatal("mutated quote accepted")
		}
	})
}

// FuzzAttestSEVSNPReport feeds reports and certificate tables to the
// SEV-SNP path, whose parsing is partly go-sev-guest's: a panic there would
// be turned into an error by the recover in verifySEVSNP, which this target
// treats as a failure so such inputs are found and pre-validated.
func FuzzAttestSEVSNPReport(f *testing.F) {
	f.Add(sevdata.AttestationBytes)
	f.Add(append(bytes.Clone(sevdata.AttestationBytes), make([]byte, 24)...))
	v := NewVerifier()
	col := []byte(`{"vcek":` + jsonString(pemCert(sevdata.VcekBytes)) + `}`)
	when := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := v.Verify(Evidence{Kind: KindSEVSNP, Quote: data}, col, Policy{AllowDebug: true}, when)
		if err != nil && strings.Contains(err.Error(), "made the parser fail") {
			t.Fatalf("go-sev-guest panicked: %v", err)
		}
		if len(data) > sevReportSize {
			_, _ = parseCertTable(data[sevReportSize:])
		}
	})
}

// FuzzAttestSimulated covers the simulated evidence parser and verifier.
func FuzzAttestSimulated(f *testing.F) {
	p, err := NewSimulatedPlatform(bytes.Repeat([]byte{9}, 32), []byte("measurement"))
	if err != nil {
		f.Fatal(err)
	}
	ev, err := p.Evidence(context.Background(), [64]byte{1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ev.Quote)
	f.Add([]byte(simulatedMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := verifySimulated(data, nil)
		if err != nil {
			return
		}
		if !bytes.Equal(data, ev.Quote) && bytes.Equal(res.Simulated.PlatformKey, p.PublicKey()) {
			t.Fatal("mutated statement accepted under the original key")
		}
	})
}

// FuzzAttestCollateral covers the strict collateral JSON and PEM parsers.
func FuzzAttestCollateral(f *testing.F) {
	addSharedSeeds(f, "dcap-qvl/sgx_quote_collateral.json", "oasis-core/tdx_v4_quote_collateral.json")
	f.Add([]byte(`{"vcek":"","crl":"00"}`))
	f.Add([]byte(intelSGXRootCAPEM))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseDCAPCollateral(data); err == nil {
			b, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseDCAPCollateral(b)
			if err != nil || *back != *c {
				t.Fatalf("round trip: %v", err)
			}
		}
		_, _ = ParseSEVSNPCollateral(data)
		_, _ = parsePEMCertificates(data, "fuzz", ErrCertChain)
	})
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
