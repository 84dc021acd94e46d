package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// dcapRegistration pairs real evidence with a fresh identity: genuine
// quotes bind their authors' report data, never ours, so after a genuine
// verification the registry must answer with the binding mismatch.
func dcapRegistration(t *testing.T, e *env, kind attest.Kind, quote, collateral []byte) *registryv1.MsgRegisterWorker {
	w := newSimWorker(t, DevWorkerMeasurement())
	m := w.register(t, e.oper)
	m.WorkerInfo.TeeKind = string(kind)
	m.Evidence = &registryv1.Evidence{Kind: string(kind), Quote: quote}
	m.Collateral = collateral
	return m
}

// TestSharedDCAPQuotes runs the real SGX/TDX quotes of the shared test
// data through the registry at the times docs/attestation.md documents.
func TestSharedDCAPQuotes(t *testing.T) {
	trimmed := func(b []byte) []byte { q, _ := attest.TrimQuotePadding(b); return q }
	badSigner := func() []byte {
		var c map[string]string
		if err := json.Unmarshal(readShared(t, "oasis-core/sgx_v3_quote_collateral.json"), &c); err != nil {
			t.Fatal(err)
		}
		c["tcb_info_issuer_chain"] = string(readShared(t, "oasis-core/negative/tcb_signing_chain_bad.pem"))
		b, _ := json.Marshal(c)
		return b
	}
	withoutCRLs := func(b []byte) []byte {
		var c map[string]string
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		delete(c, "pck_crl")
		delete(c, "pck_crl_issuer_chain")
		delete(c, "root_ca_crl")
		out, _ := json.Marshal(c)
		return out
	}
	type dcase struct {
		name       string
		kind       attest.Kind
		quote      []byte
		collateral []byte
		at         string
		code       types.Code // of the full registration
		// For genuine evidence (code = binding mismatch): what the
		// registry's measurement and TCB checks make of it.
		status     attest.TCBStatus
		confidence uint32
		judgeCode  types.Code
	}
	q := func(rel string) []byte { return readShared(t, rel) }
	cases := []dcase{
		{name: "dcap-qvl sgx_quote", kind: attest.KindSGX, quote: q("dcap-qvl/sgx_quote"), collateral: q("dcap-qvl/sgx_quote_collateral.json"),
			at: "2025-06-20T00:00:00Z", code: CodeBindingMismatch, status: attest.TCBConfigurationAndSWHardeningNeeded, confidence: 3},
		{name: "dcap-qvl sgx_quote after the QE identity's next update", kind: attest.KindSGX, quote: q("dcap-qvl/sgx_quote"), collateral: q("dcap-qvl/sgx_quote_collateral.json"),
			at: "2025-07-20T00:00:00Z", code: CodeCollateralExpired},
		{name: "dcap-qvl sgx_quote before its collateral was issued", kind: attest.KindSGX, quote: q("dcap-qvl/sgx_quote"), collateral: q("dcap-qvl/sgx_quote_collateral.json"),
			at: "2025-06-01T00:00:00Z", code: CodeCollateralNotYetValid},
		{name: "dcap-qvl tdx_quote as shipped (zero padding)", kind: attest.KindTDX, quote: q("dcap-qvl/tdx_quote"), collateral: q("dcap-qvl/tdx_quote_collateral.json"),
			at: "2025-06-20T00:00:00Z", code: CodeMalformedEvidence},
		{name: "dcap-qvl tdx_quote trimmed", kind: attest.KindTDX, quote: trimmed(q("dcap-qvl/tdx_quote")), collateral: q("dcap-qvl/tdx_quote_collateral.json"),
			at: "2025-06-20T00:00:00Z", code: CodeBindingMismatch, status: attest.TCBUpToDate, confidence: 1},
		{name: "dcap-qvl tdx_quote_outdated (below every level)", kind: attest.KindTDX, quote: q("dcap-qvl/tdx_quote_outdated"), collateral: q("dcap-qvl/tdx_quote_outdated_collateral.json"),
			at: "2026-03-01T00:00:00Z", code: CodeBindingMismatch, status: attest.TCBOutOfDate, judgeCode: CodeTCBNotAllowed},
		{name: "oasis sgx_v3_quote", kind: attest.KindSGX, quote: q("oasis-core/sgx_v3_quote"), collateral: q("oasis-core/sgx_v3_quote_collateral.json"),
			at: "2022-12-20T00:50:04Z", code: CodeBindingMismatch, status: attest.TCBSWHardeningNeeded, confidence: 2},
		{name: "oasis sgx_v3_quote before its PCK certificate", kind: attest.KindSGX, quote: q("oasis-core/sgx_v3_quote"), collateral: q("oasis-core/sgx_v3_quote_collateral.json"),
			at: "2022-12-01T00:00:00Z", code: CodeCollateralExpired},
		{name: "oasis tdx_v4_quote", kind: attest.KindTDX, quote: q("oasis-core/tdx_v4_quote"), collateral: q("oasis-core/tdx_v4_quote_collateral.json"),
			at: "2024-09-02T07:43:52Z", code: CodeBindingMismatch, status: attest.TCBUpToDate, confidence: 1},
		{name: "oasis tdx_v4_quote_out_of_date", kind: attest.KindTDX, quote: q("oasis-core/tdx_v4_quote_out_of_date"), collateral: q("oasis-core/tdx_v4_quote_out_of_date_collateral.json"),
			at: "2023-06-18T12:36:16Z", code: CodeTCBNotAllowed},
		{name: "SGX quote declared TDX", kind: attest.KindTDX, quote: q("oasis-core/sgx_v3_quote"), collateral: q("oasis-core/sgx_v3_quote_collateral.json"),
			at: "2022-12-20T00:50:04Z", code: CodeMalformedEvidence},
		{name: "SGX quote with TDX collateral", kind: attest.KindSGX, quote: q("dcap-qvl/sgx_quote"), collateral: withoutCRLs(q("dcap-qvl/tdx_quote_collateral.json")),
			at: "2025-06-20T00:00:00Z", code: CodeMalformedCollateral},
		{name: "SGX quote with TDX collateral and its CRLs", kind: attest.KindSGX, quote: q("dcap-qvl/sgx_quote"), collateral: q("dcap-qvl/tdx_quote_collateral.json"),
			at: "2025-06-20T00:00:00Z", code: CodeBadIssuerChain},
		{name: "SGX quote without collateral", kind: attest.KindSGX, quote: q("oasis-core/sgx_v3_quote"),
			at: "2022-12-20T00:50:04Z", code: CodeMalformedCollateral},
		{name: "encrypted PPID (no PCK chain)", kind: attest.KindSGX, quote: q("oasis-core/negative/sgx_v3_quote_encrypted_ppid"), collateral: q("oasis-core/sgx_v3_quote_collateral.json"),
			at: "2022-12-20T00:50:04Z", code: CodeBadIssuerChain},
		{name: "TDX quote with trailing bytes", kind: attest.KindTDX, quote: q("oasis-core/negative/tdx_v4_quote_trailing_bytes"), collateral: q("oasis-core/tdx_v4_quote_collateral.json"),
			at: "2024-09-02T07:43:52Z", code: CodeMalformedEvidence},
		{name: "TCB info signed by a PCK CA", kind: attest.KindSGX, quote: q("oasis-core/sgx_v3_quote"), collateral: badSigner(),
			at: "2022-12-20T00:50:04Z", code: CodeBadIssuerChain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, ProductionGenesis())
			e.ctx.Time = mustTime(t, c.at)
			msg := dcapRegistration(t, e, c.kind, c.quote, c.collateral)
			runBad(t, e, []badCase{{c.name, e.oper, msg, c.code}})
			if c.code != CodeBindingMismatch {
				return
			}
			// Genuine evidence: judge the authenticated result as the
			// registry would once the binding matched.
			res, err := e.m.verifier.Verify(attest.Evidence{Kind: c.kind, Quote: c.quote}, c.collateral, attest.Policy{}, e.ctx.Time)
			if err != nil {
				t.Fatal(err)
			}
			if res.TCBStatus != c.status {
				t.Fatalf("status %s, want %s", res.TCBStatus, c.status)
			}
			p := e.m.Params(e.ctx.Store)
			if _, _, err := judge(e.ctx, res, p); types.CodeOf(err) != CodeMeasurementNotAllowed {
				t.Fatalf("measurement %s not on the allowlist: %v", res.MeasurementID(), err)
			}
			if err := e.exec(e.sudo, &registryv1.MsgAddMeasurement{MeasurementId: res.MeasurementID(), Label: c.name}); err != nil {
				t.Fatal(err)
			}
			mid, conf, err := judge(e.ctx, res, p)
			if c.judgeCode != 0 {
				if types.CodeOf(err) != c.judgeCode {
					t.Fatalf("judge: %v, want %s", err, CodeName(c.judgeCode))
				}
				return
			}
			if err != nil || mid != res.MeasurementID() || conf != c.confidence {
				t.Fatalf("judge: %s %d %v, want confidence %d", mid, conf, err, c.confidence)
			}
		})
	}
}

// TestSharedDCAPQuoteMeasurement pins the allowlist key of the oasis SGX
// quote to the enclave identity its authors document.
func TestSharedDCAPQuoteMeasurement(t *testing.T) {
	v := attest.NewVerifier()
	res, err := v.Verify(attest.Evidence{Kind: attest.KindSGX, Quote: readShared(t, "oasis-core/sgx_v3_quote")},
		readShared(t, "oasis-core/sgx_v3_quote_collateral.json"), attest.Policy{}, mustTime(t, "2022-12-20T00:50:04Z"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", res.SGX.MREnclave); got != "68823bc62f409ee33a32ea270cfe45d4b19a6fb3c8570d7bc186cbe062398e8f" {
		t.Fatalf("MRENCLAVE %s", got)
	}
	if err := ValidateMeasurementID(res.MeasurementID()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.AdvisoryIDs, []string{"INTEL-SA-00615", "INTEL-SA-00657"}) {
		t.Fatalf("advisories %v", res.AdvisoryIDs)
	}
}
