package attest

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-sev-guest/kds"
	sevdata "github.com/google/go-sev-guest/verify/testdata"
	"github.com/google/go-sev-guest/verify/trust"
	tdxdata "github.com/google/go-tdx-guest/testing/testdata"
)

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func sevCollateral(t testing.TB, c SEVSNPCollateral) []byte {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// milanASKARK returns the DER of AMD's Milan ASK and ARK.
func milanASKARK(t testing.TB) (ask, ark []byte) {
	t.Helper()
	ask, ark, err := kds.ParseProductCertChain(trust.AskArkMilanVcekBytes)
	if err != nil {
		t.Fatal(err)
	}
	return ask, ark
}

// certTable builds an SEV-SNP extended-report certificate table.
func certTable(t testing.TB, entries map[string][]byte) []byte {
	t.Helper()
	guids := []string{guidVCEK, guidVLEK, guidASK, guidARK}
	var order []string
	for _, g := range guids {
		if _, ok := entries[g]; ok {
			order = append(order, g)
		}
	}
	header := (len(order) + 1) * 24
	out := make([]byte, header)
	for i, g := range order {
		raw, err := hex.DecodeString(strings.ReplaceAll(g, "-", ""))
		if err != nil {
			t.Fatal(err)
		}
		copy(out[i*24:], raw)
		binary.LittleEndian.PutUint32(out[i*24+16:], uint32(len(out)))
		binary.LittleEndian.PutUint32(out[i*24+20:], uint32(len(entries[g])))
		out = append(out, entries[g]...)
	}
	return out
}

// TestAttestSEVSNPRealReport verifies the real Milan attestation report of
// go-sev-guest's verify/testdata with the VCEK shipped next to it. The guest
// was launched with the DEBUG policy bit, so the production policy refuses
// it and AllowDebug accepts it.
func TestAttestSEVSNPRealReport(t *testing.T) {
	v := NewVerifier()
	report := sevdata.AttestationBytes
	ev := Evidence{Kind: KindSEVSNP, Quote: report}
	col := sevCollateral(t, SEVSNPCollateral{VCEK: pemCert(sevdata.VcekBytes)})
	when := at(t, "2023-01-01T00:00:00Z")

	if _, err := v.Verify(ev, col, Policy{}, when); !errors.Is(err, ErrDebugNotAllowed) {
		t.Fatalf("debug guest under the production policy: %v", err)
	}
	res, err := v.Verify(ev, col, Policy{AllowDebug: true}, when)
	if err != nil {
		t.Fatal(err)
	}
	m := res.SEVSNP
	if res.Kind != KindSEVSNP || !res.Debug || res.TCBStatus != TCBNotEvaluated || m == nil || m.SigningKey != "vcek" {
		t.Fatalf("result %+v", res)
	}
	if !bytes.Equal(m.Measurement[:], report[0x90:0xC0]) || !bytes.Equal(res.ReportData[:], report[0x50:0x90]) {
		t.Fatal("measurement or report data not taken from the report")
	}
	if !strings.HasPrefix(res.MeasurementID(), "sev-snp:") {
		t.Fatalf("measurement ID %q", res.MeasurementID())
	}

	// The VCEK is valid 2022-09-24T00:55:28Z .. 2029-09-24T00:55:28Z.
	for _, s := range []string{"2022-09-24T00:55:27Z", "2029-09-24T00:55:29Z"} {
		if _, err := v.Verify(ev, col, Policy{AllowDebug: true}, at(t, s)); !errors.Is(err, ErrCertExpired) {
			t.Errorf("at %s: %v, want ErrCertExpired", s, err)
		}
	}
	// Without the VCEK nothing can be checked.
	if _, err := v.Verify(ev, nil, Policy{AllowDebug: true}, when); !errors.Is(err, ErrCertChain) {
		t.Errorf("no VCEK: %v", err)
	}

	ask, ark := milanASKARK(t)
	_, genoaARK, err := kds.ParseProductCertChain(trust.AskArkGenoaVcekBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("certificate table", func(t *testing.T) {
		table := certTable(t, map[string][]byte{guidVCEK: sevdata.VcekBytes, guidASK: ask, guidARK: ark})
		ext := Evidence{Kind: KindSEVSNP, Quote: append(bytes.Clone(report), table...)}
		if _, err := v.Verify(ext, nil, Policy{AllowDebug: true}, when); err != nil {
			t.Fatalf("VCEK from the certificate table: %v", err)
		}
		// The same VCEK again in the collateral is fine; another is not.
		if _, err := v.Verify(ext, col, Policy{AllowDebug: true}, when); err != nil {
			t.Fatalf("VCEK in both places: %v", err)
		}
		bad := certTable(t, map[string][]byte{guidVCEK: sevdata.VcekBytes, guidARK: genoaARK})
		if _, err := v.Verify(Evidence{Kind: KindSEVSNP, Quote: append(bytes.Clone(report), bad...)}, nil, Policy{AllowDebug: true}, when); !errors.Is(err, ErrCertChain) {
			t.Fatalf("foreign ARK in the table: %v", err)
		}
		// A table entry pointing outside the table is malformed, including
		// through 32-bit overflow of offset+length.
		broken := bytes.Clone(table)
		binary.LittleEndian.PutUint32(broken[16:], 0xFFFFFFF0)
		binary.LittleEndian.PutUint32(broken[20:], 0x20)
		if _, err := v.Verify(Evidence{Kind: KindSEVSNP, Quote: append(bytes.Clone(report), broken...)}, nil, Policy{AllowDebug: true}, when); !errors.Is(err, ErrEvidenceFormat) {
			t.Fatalf("overflowing table entry: %v", err)
		}
	})
	t.Run("collateral roots", func(t *testing.T) {
		ok := sevCollateral(t, SEVSNPCollateral{VCEK: pemCert(sevdata.VcekBytes), ASK: pemCert(ask), ARK: pemCert(ark)})
		if _, err := v.Verify(ev, ok, Policy{AllowDebug: true}, when); err != nil {
			t.Fatalf("AMD's own ASK and ARK: %v", err)
		}
		foreign := sevCollateral(t, SEVSNPCollateral{VCEK: pemCert(sevdata.VcekBytes), ARK: pemCert(genoaARK)})
		if _, err := v.Verify(ev, foreign, Policy{AllowDebug: true}, when); !errors.Is(err, ErrCertChain) {
			t.Fatalf("foreign ARK: %v", err)
		}
		notAMD := sevCollateral(t, SEVSNPCollateral{VCEK: pemCert(sevdata.VcekBytes), CRL: hex.EncodeToString(tdxdata.RootCrlBody)})
		if _, err := v.Verify(ev, notAMD, Policy{AllowDebug: true}, when); !errors.Is(err, ErrCRL) {
			t.Fatalf("CRL not issued by the ARK: %v", err)
		}
		wrongVCEK := sevCollateral(t, SEVSNPCollateral{VCEK: pemCert(ask)})
		if _, err := v.Verify(ev, wrongVCEK, Policy{AllowDebug: true}, when); err == nil {
			t.Fatal("ASK accepted as VCEK")
		}
	})
	t.Run("tampered report", func(t *testing.T) {
		flipEach(t, len(report), func(i int) error {
			r := bytes.Clone(report)
			r[i] ^= 0x01
			_, err := v.Verify(Evidence{Kind: KindSEVSNP, Quote: r}, col, Policy{AllowDebug: true}, when)
			return err
		})
	})
	t.Run("tampered collateral", func(t *testing.T) {
		flipEach(t, len(col), func(i int) error {
			c := bytes.Clone(col)
			c[i] ^= 0x01
			_, err := v.Verify(ev, c, Policy{AllowDebug: true}, when)
			return err
		})
	})
	t.Run("kind", func(t *testing.T) {
		if k, err := DetectKind(report); err != nil || k != KindSEVSNP {
			t.Fatalf("DetectKind: %s %v", k, err)
		}
		if _, err := v.Verify(Evidence{Kind: KindSGX, Quote: report}, col, Policy{AllowDebug: true}, when); err == nil {
			t.Fatal("SEV-SNP report verified as SGX")
		}
	})
}

func TestAttestSEVSNPEmbeddedRoots(t *testing.T) {
	v := NewVerifier()
	for _, pl := range []string{"Milan", "Genoa"} {
		pc := v.sevRoots[pl]
		if pc == nil || pc.Ark == nil || pc.Ask == nil {
			t.Fatalf("%s roots missing", pl)
		}
		if _, err := pc.Ask.Verify(x509.VerifyOptions{Roots: certPool(pc.Ark), CurrentTime: pc.Ask.NotBefore.Add(1)}); err != nil {
			t.Fatalf("%s ASK not issued by its ARK: %v", pl, err)
		}
	}
}

func certPool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

func TestAttestSEVSNPCollateralParsing(t *testing.T) {
	for _, bad := range []string{`[]`, `{"vcek":1}`, `{"VCEK":""}`, `{"vcek":"","vcek":""}`, `{"vcek":""} x`, `{"other":""}`} {
		if _, err := ParseSEVSNPCollateral([]byte(bad)); !errors.Is(err, ErrCollateralFormat) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for _, ok := range []string{``, ` `, `{}`, `{"crl":""}`} {
		if _, err := ParseSEVSNPCollateral([]byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
