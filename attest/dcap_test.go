package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	tdxtest "github.com/google/go-tdx-guest/testing"
	tdxdata "github.com/google/go-tdx-guest/testing/testdata"
)

// sharedCase is one quote of /work/shared/testdata/attestation with the
// result its README documents.
type sharedCase struct {
	name, quote, collateral string
	kind                    Kind
	padding                 int // zero bytes after the quote
	// [from, until] is the collateral's validity window (inclusive): the
	// latest issue date and earliest next update among TCB info, QE
	// identity, CRLs and certificates.
	from, until string
	// documented verification times from the README
	times      []string
	wantStatus TCBStatus
	wantAdv    []string
	wantErr    error // set when the documented result is a rejection
	// below: the platform is below every TCB level component by component
	// and is rated by Intel's level order (Result.TCBBelowEveryLevel).
	below bool
	check func(t *testing.T, r *Result)
}

func sharedCases() []sharedCase {
	return []sharedCase{
		{
			name: "dcap-qvl/sgx_quote", quote: "dcap-qvl/sgx_quote", collateral: "dcap-qvl/sgx_quote_collateral.json",
			kind: KindSGX, from: "2025-06-19T10:56:11Z", until: "2025-07-19T10:01:18Z",
			times:      []string{"2025-06-20T00:00:00Z", "2025-07-01T00:00:00Z"},
			wantStatus: TCBConfigurationAndSWHardeningNeeded, wantAdv: []string{"INTEL-SA-00289", "INTEL-SA-00615"},
			check: func(t *testing.T, r *Result) {
				if r.SGX == nil || r.Debug {
					t.Fatalf("want a production SGX enclave, got %+v", r)
				}
			},
		},
		{
			name: "dcap-qvl/tdx_quote", quote: "dcap-qvl/tdx_quote", collateral: "dcap-qvl/tdx_quote_collateral.json",
			kind: KindTDX, padding: 70, from: "2025-06-19T10:32:27Z", until: "2025-07-19T10:00:35Z",
			times:      []string{"2025-06-20T00:00:00Z"},
			wantStatus: TCBUpToDate, wantAdv: []string{},
			check: func(t *testing.T, r *Result) {
				if r.TDX == nil || r.TDX.TD15 {
					t.Fatalf("want a TD 1.0 body, got %+v", r.TDX)
				}
			},
		},
		{
			// README: "verifies cryptographically; platform TCB not up to
			// date". Every cryptographic check passes. The PCK
			// certificate's SGX TCB [3 3 2 2 4 1 0 3 0...] PCESVN 13 equals
			// the newest level's except component 8 (SEAMLDR ACM, 3 where
			// every level requires 5), so Intel's component-wise rule finds
			// no level; in Intel's level order it follows the second level
			// (OutOfDate, 2024-03-13), as in dcap-qvl. TEE_TCB_SVN [7 1 3]
			// and module TDX_01 (SVN 7 >= 6) are current.
			name: "dcap-qvl/tdx_quote_outdated", quote: "dcap-qvl/tdx_quote_outdated", collateral: "dcap-qvl/tdx_quote_outdated_collateral.json",
			kind: KindTDX, from: "2026-02-18T10:58:51Z", until: "2026-03-20T10:41:15Z",
			times:      []string{"2026-03-01T00:00:00Z"},
			wantStatus: TCBOutOfDate,
			wantAdv:    []string{"INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099", "INTEL-SA-01103", "INTEL-SA-01111"},
			below:      true,
			check: func(t *testing.T, r *Result) {
				if r.TDX == nil || !r.TDX.TD15 || r.Debug {
					t.Fatalf("want a production TD 1.5 body, got %+v", r.TDX)
				}
			},
		},
		{
			name: "oasis-core/sgx_v3_quote", quote: "oasis-core/sgx_v3_quote", collateral: "oasis-core/sgx_v3_quote_collateral.json",
			kind: KindSGX, from: "2022-12-19T09:40:10Z", until: "2023-01-15T12:45:36Z",
			times:      []string{"1671497404"},
			wantStatus: TCBSWHardeningNeeded, wantAdv: []string{"INTEL-SA-00615", "INTEL-SA-00657"},
			check: func(t *testing.T, r *Result) {
				m := r.SGX
				if m == nil {
					t.Fatal("no SGX measurement")
				}
				if got := hex.EncodeToString(m.MREnclave[:]); got != "68823bc62f409ee33a32ea270cfe45d4b19a6fb3c8570d7bc186cbe062398e8f" {
					t.Errorf("MRENCLAVE %s", got)
				}
				if got := hex.EncodeToString(m.MRSigner[:]); got != "9affcfae47b848ec2caf1c49b4b283531e1cc425f93582b36806e52a43d78d1a" {
					t.Errorf("MRSIGNER %s", got)
				}
				if m.ISVProdID != 0 || m.ISVSVN != 0 {
					t.Errorf("ISVPRODID %d ISVSVN %d, want 0 0", m.ISVProdID, m.ISVSVN)
				}
			},
		},
		{
			name: "oasis-core/tdx_v4_quote", quote: "oasis-core/tdx_v4_quote", collateral: "oasis-core/tdx_v4_quote_collateral.json",
			kind: KindTDX, from: "2024-09-02T07:25:12Z", until: "2024-10-02T06:47:57Z",
			times:      []string{"1725263032"},
			wantStatus: TCBUpToDate, wantAdv: []string{},
			check: func(t *testing.T, r *Result) {
				// TDATTRIBUTES = SEPT_VE_DISABLE (bit 28) only.
				if r.TDX == nil || r.TDX.TDAttributes != [8]byte{0, 0, 0, 0x10, 0, 0, 0, 0} {
					t.Fatalf("TD attributes %x, want SEPT_VE_DISABLE only", r.TDX.TDAttributes)
				}
			},
		},
		{
			// README: "must be rejected: no TCB level of the collateral
			// matches". PCK SGX TCB [3 3 2 2 2 1 0 2 0...] PCESVN 11 and
			// TEE_TCB_SVN [3 0 4] against levels [5 5 2 2 3 1 0 3 0...]
			// with TDX [3 0 5]: below every level component by component
			// and in Intel's level order (microcode 3 < 5), so it is not
			// rated at all.
			name: "oasis-core/tdx_v4_quote_out_of_date", quote: "oasis-core/tdx_v4_quote_out_of_date", collateral: "oasis-core/tdx_v4_quote_out_of_date_collateral.json",
			kind: KindTDX, from: "2023-06-18T08:42:58Z", until: "2023-07-08T07:24:59Z",
			times:   []string{"1687091776"},
			wantErr: ErrTCBLevelNotFound,
		},
	}
}

func loadCase(t testing.TB, c sharedCase) (Evidence, []byte) {
	raw := readShared(t, c.quote)
	col := readShared(t, c.collateral)
	q, n := TrimQuotePadding(raw)
	if n != c.padding {
		t.Fatalf("%s: %d bytes of zero padding, want %d", c.name, n, c.padding)
	}
	return Evidence{Kind: c.kind, Quote: q}, col
}

func TestAttestSharedQuotes(t *testing.T) {
	v := NewVerifier()
	for _, c := range sharedCases() {
		t.Run(c.name, func(t *testing.T) {
			ev, col := loadCase(t, c)
			expect := func(when time.Time) {
				t.Helper()
				res, err := v.Verify(ev, col, Policy{}, when)
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("at %s: err %v, want %v", when.Format(time.RFC3339), err, c.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("at %s: %v", when.Format(time.RFC3339), err)
				}
				if res.Kind != c.kind || res.TCBStatus != c.wantStatus || !slices.Equal(res.AdvisoryIDs, c.wantAdv) || res.TCBBelowEveryLevel != c.below {
					t.Fatalf("at %s: %s %s %v below=%t, want %s %s %v below=%t", when.Format(time.RFC3339),
						res.Kind, res.TCBStatus, res.AdvisoryIDs, res.TCBBelowEveryLevel, c.kind, c.wantStatus, c.wantAdv, c.below)
				}
				if !strings.HasPrefix(res.MeasurementID(), string(c.kind)+":") || len(res.MeasurementID()) != len(c.kind)+1+64 {
					t.Fatalf("measurement ID %q", res.MeasurementID())
				}
				if c.check != nil {
					c.check(t, res)
				}
			}
			for _, s := range c.times {
				expect(at(t, s))
			}
			from, until := at(t, c.from), at(t, c.until)
			expect(from)
			expect(until)
			expect(from.Add(until.Sub(from) / 2))

			// Outside the window the collateral (or a certificate) is stale.
			_, err := v.Verify(ev, col, Policy{}, from.Add(-time.Second))
			if !isAny(err, ErrCollateralNotYetValid, ErrCertExpired) {
				t.Errorf("one second before the window: %v", err)
			}
			_, err = v.Verify(ev, col, Policy{}, until.Add(time.Second))
			if !isAny(err, ErrCollateralExpired, ErrCertExpired) {
				t.Errorf("one second after the window: %v", err)
			}
			for _, far := range []string{"2000-01-01T00:00:00Z", "2060-01-01T00:00:00Z"} {
				if _, err := v.Verify(ev, col, Policy{}, at(t, far)); !isAny(err, ErrCollateralNotYetValid, ErrCollateralExpired, ErrCertExpired) {
					t.Errorf("at %s: %v", far, err)
				}
			}
		})
	}
}

func TestAttestSharedQuoteFacts(t *testing.T) {
	v := NewVerifier()
	c := sharedCases()[3] // oasis-core/sgx_v3_quote
	ev, col := loadCase(t, c)
	// The PCK certificate is valid from unix 1670238721 to 1891163521: just
	// outside, the PCK chain fails before any collateral is looked at.
	for _, s := range []string{"1670238720", "1891163522"} {
		if _, err := v.Verify(ev, col, Policy{}, at(t, s)); !errors.Is(err, ErrCertExpired) {
			t.Errorf("at %s: %v, want ErrCertExpired", s, err)
		}
	}
	// Declaring the wrong kind is caught.
	if _, err := v.Verify(Evidence{Kind: KindTDX, Quote: ev.Quote}, col, Policy{}, at(t, c.times[0])); !errors.Is(err, ErrKindMismatch) {
		t.Errorf("SGX quote declared TDX: %v", err)
	}
	// Collateral of another platform is refused.
	other := readShared(t, "oasis-core/tdx_v4_quote_collateral.json")
	if _, err := v.Verify(ev, other, Policy{}, at(t, "1725263032")); err == nil {
		t.Error("SGX quote verified with TDX collateral")
	}
	// So is missing collateral.
	if _, err := v.Verify(ev, nil, Policy{}, at(t, c.times[0])); !errors.Is(err, ErrCollateralFormat) {
		t.Errorf("no collateral: %v", err)
	}
	// Expected report data is compared.
	res, err := v.Verify(ev, col, Policy{}, at(t, c.times[0]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ev, col, Policy{ReportData: res.ReportData[:]}, at(t, c.times[0])); err != nil {
		t.Errorf("matching report data: %v", err)
	}
	wrong := bytes.Clone(res.ReportData[:])
	wrong[0] ^= 1
	if _, err := v.Verify(ev, col, Policy{ReportData: wrong}, at(t, c.times[0])); !errors.Is(err, ErrReportDataMismatch) {
		t.Errorf("wrong report data: %v", err)
	}
}

func TestAttestNegativeQuotes(t *testing.T) {
	v := NewVerifier()
	sgxCol := readShared(t, "oasis-core/sgx_v3_quote_collateral.json")
	when := at(t, "1671497404")

	t.Run("encrypted PPID carries no PCK chain", func(t *testing.T) {
		q := readShared(t, "oasis-core/negative/sgx_v3_quote_encrypted_ppid")
		_, err := v.Verify(Evidence{Kind: KindSGX, Quote: q}, sgxCol, Policy{}, when)
		if !errors.Is(err, ErrCertChain) || !strings.Contains(err.Error(), "type 3") {
			t.Fatalf("err %v, want ErrCertChain naming certification data type 3", err)
		}
	})
	t.Run("trailing bytes", func(t *testing.T) {
		q := readShared(t, "oasis-core/negative/tdx_v4_quote_trailing_bytes")
		_, err := v.Verify(Evidence{Kind: KindTDX, Quote: q}, readShared(t, "oasis-core/tdx_v4_quote_collateral.json"), Policy{}, at(t, "1725263032"))
		if !errors.Is(err, ErrEvidenceFormat) || !strings.Contains(err.Error(), "trailing") {
			t.Fatalf("err %v, want ErrEvidenceFormat about trailing bytes", err)
		}
		if _, err := parseQuote(q); !errors.Is(err, ErrEvidenceFormat) {
			t.Fatalf("parseQuote: %v", err)
		}
		// The dcap-qvl TDX quote has the same 70 zero bytes appended: the
		// strict verifier rejects it as shipped, too.
		raw := readShared(t, "dcap-qvl/tdx_quote")
		_, err = v.Verify(Evidence{Kind: KindTDX, Quote: raw}, readShared(t, "dcap-qvl/tdx_quote_collateral.json"), Policy{}, at(t, "2025-06-20T00:00:00Z"))
		if !errors.Is(err, ErrEvidenceFormat) {
			t.Fatalf("padded dcap-qvl quote: %v", err)
		}
	})
	t.Run("bad TCB signing chain", func(t *testing.T) {
		bad := string(readShared(t, "oasis-core/negative/tcb_signing_chain_bad.pem"))
		q := readShared(t, "oasis-core/sgx_v3_quote")
		for _, field := range []string{"tcb_info_issuer_chain", "qe_identity_issuer_chain"} {
			col := replaceCollateralField(t, sgxCol, field, bad)
			_, err := v.Verify(Evidence{Kind: KindSGX, Quote: q}, col, Policy{}, when)
			if !errors.Is(err, ErrCertChain) {
				t.Errorf("%s replaced: %v, want ErrCertChain", field, err)
			}
		}
	})
}

func replaceCollateralField(t testing.TB, col []byte, field, value string) []byte {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(col, &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, field)
	} else {
		m[field] = value
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAttestCollateralRejections swaps, drops and corrupts collateral parts.
func TestAttestCollateralRejections(t *testing.T) {
	v := NewVerifier()
	c := sharedCases()[0] // dcap-qvl SGX, which carries CRLs
	ev, col := loadCase(t, c)
	when := at(t, c.times[0])
	tdxCol := readShared(t, "dcap-qvl/tdx_quote_collateral.json")
	var tdx map[string]string
	if err := json.Unmarshal(tdxCol, &tdx); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, field, value string
		want               error
	}{
		{"TDX TCB info", "tcb_info", tdx["tcb_info"], ErrCollateralSignature},
		{"TDX TCB info with its signature", "tcb_info_signature", tdx["tcb_info_signature"], ErrCollateralSignature},
		{"TD QE identity", "qe_identity", tdx["qe_identity"], ErrCollateralSignature},
		{"PCK CRL of the platform CA", "pck_crl", tdx["pck_crl"], ErrCRL},
		{"root CRL as PCK CRL", "pck_crl", tdx["root_ca_crl"], ErrCRL},
		{"short signature", "tcb_info_signature", "00", ErrCollateralFormat},
		{"no TCB info", "tcb_info", "", ErrCollateralFormat},
		{"chain without signer", "tcb_info_issuer_chain", intelSGXRootCAPEM, ErrCertChain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(ev, replaceCollateralField(t, col, tc.field, tc.value), Policy{}, when)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	// Replacing both TCB info and its signature with TDX ones is authentic
	// collateral for another TEE and platform.
	mixed := replaceCollateralField(t, replaceCollateralField(t, col, "tcb_info", tdx["tcb_info"]), "tcb_info_signature", tdx["tcb_info_signature"])
	if _, err := v.Verify(ev, mixed, Policy{}, when); !errors.Is(err, ErrTCBInfoMismatch) && !errors.Is(err, ErrCollateralNotYetValid) {
		t.Fatalf("TDX TCB info for an SGX quote: %v", err)
	}
}

// flipEach verifies mutate(i) for every i in [0, n) (every stride-th in
// short mode) and fails if any verification succeeds or is judged by a
// check that runs only after all cryptography passed.
func flipEach(t *testing.T, n int, verify func(i int) error) {
	t.Helper()
	stride := 1
	if testing.Short() {
		stride = 13
	}
	for i := 0; i < n; i += stride {
		err := verify(i)
		if err == nil {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, n)
		}
		if errors.Is(err, ErrTCBLevelNotFound) || errors.Is(err, ErrDebugNotAllowed) {
			t.Fatalf("flipping byte %d passed the cryptographic checks: %v", i, err)
		}
	}
}

// TestAttestTamperedQuote flips every byte of real quotes (header, body,
// signature, attestation key, QE report, QE signature, auth data, PCK
// chain): each flip must be rejected.
func TestAttestTamperedQuote(t *testing.T) {
	v := NewVerifier()
	for _, idx := range []int{0, 2, 4} { // SGX v3, TDX v5 (TD 1.5), TDX v4
		c := sharedCases()[idx]
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, col := loadCase(t, c)
			when := at(t, c.times[0])
			flipEach(t, len(ev.Quote), func(i int) error {
				q := bytes.Clone(ev.Quote)
				q[i] ^= 0x01
				_, err := v.Verify(Evidence{Kind: c.kind, Quote: q}, col, Policy{}, when)
				return err
			})
		})
	}
}

// TestAttestTamperedCollateral flips every byte of a full collateral (TCB
// info, QE identity, signatures, issuer chains, CRLs, JSON syntax).
func TestAttestTamperedCollateral(t *testing.T) {
	t.Parallel()
	v := NewVerifier()
	c := sharedCases()[0]
	ev, col := loadCase(t, c)
	when := at(t, c.times[0])
	if _, err := v.Verify(ev, col, Policy{}, when); err != nil {
		t.Fatal(err)
	}
	flipEach(t, len(col), func(i int) error {
		m := bytes.Clone(col)
		m[i] ^= 0x01
		_, err := v.Verify(ev, m, Policy{}, when)
		return err
	})
}

// pcsSigned splits a PCS response {"<key>":{...},"signature":"<hex>"} into
// the exact signed JSON text and its signature.
func pcsSigned(t testing.TB, body []byte, key string) (string, string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var sig string
	if err := json.Unmarshal(m["signature"], &sig); err != nil {
		t.Fatal(err)
	}
	return string(m[key]), sig
}

func headerChain(t testing.TB, h map[string][]string, key string) string {
	t.Helper()
	s, err := url.QueryUnescape(h[key][0])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAttestGoTDXGuestQuote verifies the production TDX quote shipped in
// go-tdx-guest's test data with the PCS responses shipped next to it (TCB
// info, QE identity, PCK CRL, root CRL and the issuer-chain headers).
// go-tdx-guest's own test expects "no matching TCB level" for it, and so do
// we: every other check passes.
func TestAttestGoTDXGuestQuote(t *testing.T) {
	tcbInfo, tcbSig := pcsSigned(t, tdxdata.TcbInfoBody, "tcbInfo")
	qeID, qeSig := pcsSigned(t, tdxdata.QeIdentityBody, "enclaveIdentity")
	col := &DCAPCollateral{
		TCBInfo: tcbInfo, TCBInfoSignature: tcbSig,
		TCBInfoIssuerChain: headerChain(t, tdxtest.TcbInfoHeader, "Tcb-Info-Issuer-Chain"),
		QEIdentity:         qeID, QEIdentitySignature: qeSig,
		QEIdentityIssuerChain: headerChain(t, tdxtest.QeIdentityHeader, "Sgx-Enclave-Identity-Issuer-Chain"),
		PCKCRLIssuerChain:     headerChain(t, tdxtest.PckCrlHeader, "Sgx-Pck-Crl-Issuer-Chain"),
		RootCACRL:             hex.EncodeToString(tdxdata.RootCrlBody),
		PCKCRL:                hex.EncodeToString(tdxdata.PckCrlBody),
	}
	raw, err := col.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier()
	// go-tdx-guest appends "\nextra bytes(only for testing purpose)\n" to
	// its quote (its parser ignores trailing data); the strict parser does
	// not, so the test cuts the quote to its declared length.
	if _, err := v.Verify(Evidence{Kind: KindTDX, Quote: tdxdata.RawQuote}, raw, Policy{}, at(t, "2023-07-01T01:00:00Z")); !errors.Is(err, ErrEvidenceFormat) {
		t.Fatalf("quote with trailing text: %v, want ErrEvidenceFormat", err)
	}
	n, ok := quoteLength(tdxdata.RawQuote)
	if !ok {
		t.Fatal("cannot size the go-tdx-guest quote")
	}
	ev := Evidence{Kind: KindTDX, Quote: tdxdata.RawQuote[:n]}
	_, err = v.Verify(ev, raw, Policy{}, at(t, "2023-07-01T01:00:00Z"))
	if !errors.Is(err, ErrTCBLevelNotFound) {
		t.Fatalf("err %v, want ErrTCBLevelNotFound", err)
	}
	// After the PCK CRL's next update (2023-07-08T07:27:52Z) the collateral
	// is stale.
	if _, err := v.Verify(ev, raw, Policy{}, at(t, "2023-07-08T07:27:53Z")); !errors.Is(err, ErrCollateralExpired) {
		t.Fatalf("after the CRL window: %v", err)
	}
	// A flipped body byte is caught by the quote signature.
	q := bytes.Clone(ev.Quote)
	q[quoteHeaderLen+530] ^= 0x80 // inside REPORTDATA
	if _, err := v.Verify(Evidence{Kind: KindTDX, Quote: q}, raw, Policy{}, at(t, "2023-07-01T01:00:00Z")); !errors.Is(err, ErrQuoteSignature) {
		t.Fatalf("tampered body: %v", err)
	}
}

func TestAttestTCBMerge(t *testing.T) {
	cases := []struct{ platform, qe, want TCBStatus }{
		{TCBUpToDate, TCBUpToDate, TCBUpToDate},
		{TCBUpToDate, TCBOutOfDate, TCBOutOfDate},
		{TCBSWHardeningNeeded, TCBOutOfDate, TCBOutOfDate},
		{TCBConfigurationNeeded, TCBOutOfDate, TCBOutOfDateConfigurationNeeded},
		{TCBConfigurationAndSWHardeningNeeded, TCBOutOfDate, TCBOutOfDateConfigurationNeeded},
		{TCBOutOfDateConfigurationNeeded, TCBOutOfDate, TCBOutOfDateConfigurationNeeded},
		{TCBConfigurationNeeded, TCBRevoked, TCBRevoked},
		{TCBRevoked, TCBUpToDate, TCBRevoked},
	}
	for _, c := range cases {
		if got := convergeQE(c.platform, c.qe); got != c.want {
			t.Errorf("convergeQE(%s, %s) = %s, want %s", c.platform, c.qe, got, c.want)
		}
		if got := convergeModule(c.platform, c.qe); got != c.want {
			t.Errorf("convergeModule(%s, %s) = %s, want %s", c.platform, c.qe, got, c.want)
		}
	}
}

func TestAttestTrimQuotePadding(t *testing.T) {
	q := readShared(t, "oasis-core/tdx_v4_quote")
	if got, n := TrimQuotePadding(q); n != 0 || !bytes.Equal(got, q) {
		t.Fatal("exact quote changed")
	}
	padded := append(bytes.Clone(q), make([]byte, 9)...)
	if got, n := TrimQuotePadding(padded); n != 9 || !bytes.Equal(got, q) {
		t.Fatalf("zero padding: removed %d", n)
	}
	junk := append(bytes.Clone(q), 0, 0, 1)
	if _, n := TrimQuotePadding(junk); n != 0 {
		t.Fatal("non-zero trailer removed")
	}
	if _, n := TrimQuotePadding([]byte("short")); n != 0 {
		t.Fatal("non-quote changed")
	}
	// A v5 header cut inside its body size field must not panic.
	for _, size := range []int{quoteHeaderLen + 4, quoteHeaderLen + 5} {
		v5 := make([]byte, size)
		v5[0], v5[2], v5[4] = 5, attestationKeyECDSAP256, teeTypeTDX
		if _, n := TrimQuotePadding(v5); n != 0 {
			t.Fatalf("%d-byte v5 header changed", size)
		}
	}
}

func TestAttestDetectKind(t *testing.T) {
	for file, want := range map[string]Kind{
		"dcap-qvl/sgx_quote":          KindSGX,
		"dcap-qvl/tdx_quote":          KindTDX,
		"dcap-qvl/tdx_quote_outdated": KindTDX,
	} {
		if got, err := DetectKind(readShared(t, file)); err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", file, got, err, want)
		}
	}
	if _, err := DetectKind([]byte("nothing")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("garbage: %v", err)
	}
}

func TestAttestIntelRootPinned(t *testing.T) {
	v := NewVerifier()
	if v.intelRoot.Subject.CommonName != "Intel SGX Root CA" {
		t.Fatalf("root %q", v.intelRoot.Subject.CommonName)
	}
	c := sharedCases()[3]
	ev, col := loadCase(t, c)
	when := at(t, c.times[0])
	var m map[string]string
	if err := json.Unmarshal(col, &m); err != nil {
		t.Fatal(err)
	}
	chain := m["tcb_info_issuer_chain"]
	signerOnly := chain[:strings.Index(chain, pemCertEnd)+len(pemCertEnd)]
	// Without the root the chain is completed by the embedded root.
	if _, err := v.Verify(ev, replaceCollateralField(t, col, "tcb_info_issuer_chain", signerOnly), Policy{}, when); err != nil {
		t.Fatalf("chain without the root must verify against the embedded root: %v", err)
	}
	// A chain ending in another self-signed root is refused, even when
	// that root is named like Intel's.
	fake, _, _ := testCA(t, "Intel SGX Root CA")
	withFake := signerOnly + "\n" + pemCert(fake.Raw)
	if _, err := v.Verify(ev, replaceCollateralField(t, col, "tcb_info_issuer_chain", withFake), Policy{}, when); !errors.Is(err, ErrCertChain) {
		t.Fatalf("foreign root: %v", err)
	}
}
