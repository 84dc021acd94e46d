package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testSeed(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestAttestSimulatedRoundTrip(t *testing.T) {
	ctx := context.Background()
	measurement := sha256.Sum256([]byte("worker build 1"))
	p, err := NewSimulatedPlatform(testSeed(7), measurement[:])
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	copy(rd[:], "report data")
	ev, err := p.Evidence(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != KindSimulated || p.Kind() != KindSimulated {
		t.Fatalf("kind %s", ev.Kind)
	}
	v := NewVerifier()
	now := time.Unix(0, 0) // simulated evidence is timeless

	if _, err := v.Verify(ev, nil, Policy{}, now); !errors.Is(err, ErrSimulatedNotAllowed) {
		t.Fatalf("production policy: %v", err)
	}
	res, err := v.Verify(ev, nil, Policy{AllowSimulated: true, ReportData: rd[:]}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != KindSimulated || res.TCBStatus != TCBNotApplicable || res.ReportData != rd ||
		!bytes.Equal(res.Simulated.Measurement, measurement[:]) || !bytes.Equal(res.Simulated.PlatformKey, p.PublicKey()) {
		t.Fatalf("result %+v", res)
	}
	if k, err := DetectKind(ev.Quote); err != nil || k != KindSimulated {
		t.Fatalf("DetectKind %s %v", k, err)
	}

	// Same seed, same identity; other measurement, other ID.
	p2, _ := NewSimulatedPlatform(testSeed(7), measurement[:])
	if !bytes.Equal(p2.PublicKey(), p.PublicKey()) {
		t.Fatal("platform key not stable for a seed")
	}
	other, _ := NewSimulatedPlatform(testSeed(7), []byte("other build"))
	ev2, _ := other.Evidence(ctx, rd)
	res2, err := v.Verify(ev2, nil, Policy{AllowSimulated: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res2.MeasurementID() == res.MeasurementID() {
		t.Fatal("different measurements share an ID")
	}

	// Every flipped byte is rejected.
	flipEach(t, len(ev.Quote), func(i int) error {
		q := bytes.Clone(ev.Quote)
		q[i] ^= 0x01
		_, err := v.Verify(Evidence{Kind: KindSimulated, Quote: q}, nil, Policy{AllowSimulated: true}, now)
		return err
	})
	if _, err := v.Verify(ev, []byte(`{}`), Policy{AllowSimulated: true}, now); !errors.Is(err, ErrCollateralFormat) {
		t.Fatalf("collateral with simulated evidence: %v", err)
	}
	if _, err := v.Verify(Evidence{Kind: KindSimulated, Quote: ev.Quote[:len(ev.Quote)-1]}, nil, Policy{AllowSimulated: true}, now); !errors.Is(err, ErrEvidenceFormat) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := v.Verify(Evidence{Kind: KindSimulated, Quote: ev.Quote}, nil, Policy{AllowSimulated: true, ReportData: make([]byte, 64)}, now); !errors.Is(err, ErrReportDataMismatch) {
		t.Fatalf("report data: %v", err)
	}
}

func TestAttestSimulatedSealingKey(t *testing.T) {
	ctx := context.Background()
	p, _ := NewSimulatedPlatform(testSeed(1), []byte("m1"))
	k1, err := p.SealingKey(ctx, "state")
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %x %v", k1, err)
	}
	same, _ := NewSimulatedPlatform(testSeed(1), []byte("m1"))
	k1b, _ := same.SealingKey(ctx, "state")
	otherLabel, _ := p.SealingKey(ctx, "other")
	otherCode, _ := NewSimulatedPlatform(testSeed(1), []byte("m2"))
	k2, _ := otherCode.SealingKey(ctx, "state")
	otherSeed, _ := NewSimulatedPlatform(testSeed(2), []byte("m1"))
	k3, _ := otherSeed.SealingKey(ctx, "state")
	if !bytes.Equal(k1, k1b) {
		t.Fatal("sealing key not deterministic")
	}
	for name, k := range map[string][]byte{"label": otherLabel, "measurement": k2, "seed": k3} {
		if bytes.Equal(k, k1) {
			t.Errorf("changing the %s does not change the sealing key", name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.SealingKey(cancelled, "x"); err == nil {
		t.Error("cancelled context ignored")
	}
	if _, err := p.Evidence(cancelled, [64]byte{}); err == nil {
		t.Error("cancelled context ignored")
	}
}

func TestAttestSimulatedPlatformDoesNotPrintSecrets(t *testing.T) {
	seed := testSeed(7)
	p, err := NewSimulatedPlatform(seed, []byte("m1"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{hex.EncodeToString(seed), hex.EncodeToString(p.priv.Seed()), fmt.Sprint(seed[:4]), fmt.Sprint(p.priv.Seed()[:4])}
	type holder struct{ P Platform }
	for _, v := range []any{p, *p, holder{p}, []Platform{p}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			out := strings.ToLower(fmt.Sprintf(verb, v))
			for _, sec := range secrets {
				if strings.Contains(out, strings.ToLower(sec)) {
					t.Errorf("fmt %s of %T prints secret material: %s", verb, v, out)
				}
			}
		}
	}
	if out := fmt.Sprint(p); !strings.Contains(out, hex.EncodeToString(p.PublicKey())) {
		t.Errorf("fmt of the platform = %s, want its public key", out)
	}
}

func TestAttestSimulatedPlatformArgs(t *testing.T) {
	if _, err := NewSimulatedPlatform(make([]byte, 31), []byte("m")); err == nil {
		t.Error("short seed accepted")
	}
	if _, err := NewSimulatedPlatform(make([]byte, 32), nil); err == nil {
		t.Error("empty measurement accepted")
	}
	if _, err := NewSimulatedPlatform(make([]byte, 32), make([]byte, 65)); err == nil {
		t.Error("long measurement accepted")
	}
}

func TestAttestPolicyDebug(t *testing.T) {
	res := &Result{Kind: KindTDX, Debug: true}
	if err := applyPolicy(res, Policy{}); !errors.Is(err, ErrDebugNotAllowed) {
		t.Fatalf("debug TD under production policy: %v", err)
	}
	if err := applyPolicy(res, Policy{AllowDebug: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier().Verify(Evidence{Kind: KindSGX}, nil, Policy{ReportData: []byte{1}}, time.Unix(1, 0)); !errors.Is(err, ErrReportDataMismatch) {
		t.Fatalf("short expected report data: %v", err)
	}
	// A zero time would let crypto/x509 read the wall clock.
	if _, err := NewVerifier().Verify(Evidence{Kind: KindSGX}, nil, Policy{}, time.Time{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("zero time: %v", err)
	}
}

func TestAttestHardwarePlatformsAbsent(t *testing.T) {
	if p, err := NewTDXPlatform(); err == nil {
		t.Logf("running on a TDX guest (%s); skipping the absence check", p.Kind())
	} else if !errors.Is(err, ErrNoHardware) || !strings.Contains(err.Error(), "TDX") {
		t.Errorf("NewTDXPlatform: %v", err)
	}
	if p, err := NewSEVSNPPlatform(); err == nil {
		t.Logf("running on an SEV-SNP guest (%s); skipping the absence check", p.Kind())
	} else if !errors.Is(err, ErrNoHardware) || !strings.Contains(err.Error(), "SEV-SNP") {
		t.Errorf("NewSEVSNPPlatform: %v", err)
	}
	var tdx TDXPlatform
	if _, err := tdx.SealingKey(context.Background(), "x"); !errors.Is(err, ErrSealingUnavailable) {
		t.Errorf("TDX sealing key: %v", err)
	}
}

func TestAttestKindsAndCodes(t *testing.T) {
	for in, want := range map[string]Kind{"sgx": KindSGX, "SGX-DCAP": KindSGX, "tdx": KindTDX, "sev-snp": KindSEVSNP, "simulated": KindSimulated} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %s %v", in, got, err)
		}
	}
	if _, err := ParseKind("nitro"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ParseKind(nitro): %v", err)
	}
	if ErrorCode(nil) != "" || ErrorCode(errors.New("x")) != "internal" {
		t.Error("ErrorCode of nil/foreign errors")
	}
	if got := ErrorCode(errors.Join(errors.New("ctx"), ErrRevoked)); got != "revoked" {
		t.Errorf("ErrorCode = %q", got)
	}
	if _, err := NewVerifier().Verify(Evidence{Kind: "nitro"}, nil, Policy{}, time.Unix(1, 0)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown kind: %v", err)
	}
	// Evidence round-trips through JSON (kind + base64 quote).
	ev := Evidence{Kind: KindTDX, Quote: []byte{1, 2, 3}}
	b, _ := json.Marshal(ev)
	var back Evidence
	if err := json.Unmarshal(b, &back); err != nil || back.Kind != ev.Kind || !bytes.Equal(back.Quote, ev.Quote) {
		t.Fatalf("JSON round trip %s: %+v %v", b, back, err)
	}
}

func TestAttestDCAPCollateralParsing(t *testing.T) {
	full := `{"tcb_info":"a","tcb_info_signature":"b","tcb_info_issuer_chain":"c","qe_identity":"d","qe_identity_signature":"e","qe_identity_issuer_chain":"f"}`
	if c, err := ParseDCAPCollateral([]byte(full)); err != nil || c.QEIdentityIssuerChain != "f" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{
		``, `null`, `[]`, `{}`,
		strings.Replace(full, `"tcb_info":"a",`, ``, 1),
		strings.Replace(full, `"tcb_info"`, `"TCB_INFO"`, 1),
		strings.Replace(full, `"a"`, `1`, 1),
		strings.Replace(full, `"a"`, `null`, 1),
		strings.Replace(full, `}`, `,"extra":"x"}`, 1),
		strings.Replace(full, `}`, `,"tcb_info":"x"}`, 1),
		full + `{}`,
	} {
		if _, err := ParseDCAPCollateral([]byte(bad)); !errors.Is(err, ErrCollateralFormat) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Round trip through Marshal.
	c, _ := ParseDCAPCollateral([]byte(full))
	c.PCKCRL = "00"
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParseDCAPCollateral(b); err != nil || *back != *c {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestAttestStrictPEM(t *testing.T) {
	good := intelSGXRootCAPEM + "\n\x00"
	if certs, err := parsePEMCertificates([]byte(good), "x", ErrCertChain); err != nil || len(certs) != 1 {
		t.Fatalf("%d %v", len(certs), err)
	}
	for name, bad := range map[string]string{
		"garbage after":       good + "x",
		"header":              strings.Replace(intelSGXRootCAPEM, pemCertBegin+"\n", pemCertBegin+"\nProc-Type: 4,ENCRYPTED\n\n", 1),
		"unterminated":        strings.Replace(intelSGXRootCAPEM, pemCertEnd, "", 1),
		"non-canonical b64":   strings.Replace(intelSGXRootCAPEM, "aqI=", "aqJ=", 1),
		"empty":               "\n",
		"not a certificate":   pemCertBegin + "\nAAAA\n" + pemCertEnd,
		"vertical tab inside": strings.Replace(intelSGXRootCAPEM, "\nMIIC", "\n\vMIIC", 1),
	} {
		if _, err := parsePEMCertificates([]byte(bad), "x", ErrCertChain); !errors.Is(err, ErrCertChain) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
