package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

func TestMeasurementAllowlist(t *testing.T) {
	e := newEnv(t, ProductionGenesis())
	w := newSimWorker(t, []byte("release 1"))
	id := SimulatedMeasurementID([]byte("release 1"))
	runBad(t, e, []badCase{
		{"add by non-sudo", e.oper, &registryv1.MsgAddMeasurement{MeasurementId: id}, types.CodeUnauthorized},
		{"remove by non-sudo", e.oper, &registryv1.MsgRemoveMeasurement{MeasurementId: id}, types.CodeUnauthorized},
		{"remove absent", e.sudo, &registryv1.MsgRemoveMeasurement{MeasurementId: id}, types.CodeNotFound},
		{"malformed id", e.sudo, &registryv1.MsgAddMeasurement{MeasurementId: "simulated:XYZ"}, types.CodeInvalidRequest},
		{"upper-case hex", e.sudo, &registryv1.MsgAddMeasurement{MeasurementId: strings.ToUpper(id)}, types.CodeInvalidRequest},
		{"unknown kind", e.sudo, &registryv1.MsgAddMeasurement{MeasurementId: "nitro:" + strings.Repeat("0", 64)}, types.CodeInvalidRequest},
		{"label too long", e.sudo, &registryv1.MsgAddMeasurement{MeasurementId: id, Label: strings.Repeat("x", MaxLabelBytes+1)}, types.CodeInvalidRequest},
	})
	if err := e.exec(e.sudo, &registryv1.MsgAddMeasurement{MeasurementId: id, Label: "release 1"}); err != nil {
		t.Fatal(err)
	}
	if ev := e.events[len(e.events)-1]; ev.Type != "measurement_added" || ev.Attrs[0].Value != id {
		t.Fatalf("event %v", ev)
	}
	// Allowed now, but the production chain still refuses simulated TEEs.
	runBad(t, e, []badCase{{"simulated on production", e.oper, w.register(t, e.oper), CodeSimulatedNotAllowed}})
	p := e.m.Params(e.ctx.Store)
	p.AllowSimulatedTEE = true
	e.m.SetParams(e.ctx.Store, p)
	if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	if err := e.exec(e.sudo, &registryv1.MsgRemoveMeasurement{MeasurementId: id}); err != nil {
		t.Fatal(err)
	}
	if ev := e.events[len(e.events)-1]; ev.Type != "measurement_removed" {
		t.Fatalf("event %v", ev)
	}
	// A removed measurement cannot refresh; the record stays until expiry.
	runBad(t, e, []badCase{{"refresh after removal", e.oper, w.register(t, e.oper), CodeMeasurementNotAllowed}})
	if Worker(e.ctx.Store, w.pub()) == nil {
		t.Fatal("record removed with the measurement")
	}
}

func TestTCBPolicy(t *testing.T) {
	e := newEnv(t, DevGenesis())
	rule := func(s string, c uint32) *registryv1.TCBRule { return &registryv1.TCBRule{Status: s, Confidence: c} }
	runBad(t, e, []badCase{
		{"non-sudo", e.oper, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("UpToDate", 1)}}, types.CodeUnauthorized},
		{"revoked", e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("Revoked", 4)}}, types.CodeInvalidRequest},
		{"unknown status", e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("Fine", 1)}}, types.CodeInvalidRequest},
		{"simulated status", e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("NotApplicable", 1)}}, types.CodeInvalidRequest},
		{"duplicate", e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("UpToDate", 1), rule("UpToDate", 2)}}, types.CodeInvalidRequest},
		{"confidence 0", e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("UpToDate", 0)}}, types.CodeInvalidRequest},
		{"confidence 5", e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("UpToDate", 5)}}, types.CodeInvalidRequest},
	})
	if err := e.exec(e.sudo, &registryv1.MsgSetTCBPolicy{Rules: []*registryv1.TCBRule{rule("UpToDate", 1), rule("OutOfDate", 4)}}); err != nil {
		t.Fatal(err)
	}
	p := e.m.Params(e.ctx.Store)
	if len(p.TCBPolicy) != 2 || p.TCBPolicy[0].Status != attest.TCBOutOfDate || p.TCBPolicy[1].Status != attest.TCBUpToDate {
		t.Fatalf("policy not stored sorted: %v", p.TCBPolicy)
	}
	if ev := e.events[len(e.events)-1]; ev.Type != "tcb_policy_set" || ev.Attrs[0].Value != "OutOfDate=4,UpToDate=1" {
		t.Fatalf("event %v", ev)
	}
}

// TestDefaultTCBPolicy pins the documented mapping (docs/registry.md).
func TestDefaultTCBPolicy(t *testing.T) {
	p := ProductionParams()
	want := map[attest.TCBStatus]uint32{
		attest.TCBUpToDate: 1, attest.TCBSWHardeningNeeded: 2, attest.TCBConfigurationNeeded: 3,
		attest.TCBConfigurationAndSWHardeningNeeded: 3, attest.TCBNotEvaluated: 3,
	}
	for _, s := range []attest.TCBStatus{attest.TCBUpToDate, attest.TCBSWHardeningNeeded, attest.TCBConfigurationNeeded,
		attest.TCBConfigurationAndSWHardeningNeeded, attest.TCBNotEvaluated, attest.TCBOutOfDate,
		attest.TCBOutOfDateConfigurationNeeded, attest.TCBTDRelaunchAdvised, attest.TCBTDRelaunchAdvisedConfigurationNeeded,
		attest.TCBRevoked} {
		res := &attest.Result{Kind: attest.KindTDX, TCBStatus: s}
		c, err := judgeTCB(res, p)
		if w, ok := want[s]; ok {
			if err != nil || c != w {
				t.Errorf("%s: confidence %d err %v, want %d", s, c, err, w)
			}
			continue
		}
		wantCode := CodeTCBNotAllowed
		if s == attest.TCBRevoked {
			wantCode = CodeRevoked
		}
		if types.CodeOf(err) != wantCode {
			t.Errorf("%s: %v, want %s", s, err, CodeName(wantCode))
		}
	}
	// A platform below every TCB level is refused even if its status is
	// accepted.
	p.TCBPolicy = append(p.TCBPolicy, TCBRule{attest.TCBOutOfDate, 4})
	if _, err := judgeTCB(&attest.Result{Kind: attest.KindTDX, TCBStatus: attest.TCBOutOfDate, TCBBelowEveryLevel: true}, p); types.CodeOf(err) != CodeTCBNotAllowed {
		t.Errorf("below every level: %v", err)
	}
	if c, err := judgeTCB(&attest.Result{Kind: attest.KindTDX, TCBStatus: attest.TCBOutOfDate}, p); err != nil || c != 4 {
		t.Errorf("accepted OutOfDate: %d %v", c, err)
	}
}

func TestGenesisValidation(t *testing.T) {
	m := New()
	good := DevGenesis()
	for name, mut := range map[string]func(g *Genesis){
		"zero validity":         func(g *Genesis) { g.Params.AttestationValidityBlocks = 0 },
		"huge collateral limit": func(g *Genesis) { g.Params.MaxCollateralBytes = 1 << 20 },
		"revoked accepted":      func(g *Genesis) { g.Params.TCBPolicy = append(g.Params.TCBPolicy, TCBRule{attest.TCBRevoked, 4}) },
		"bad measurement":       func(g *Genesis) { g.Measurements = append(g.Measurements, GenesisMeasurement{ID: "sgx:00"}) },
		"duplicate measurement": func(g *Genesis) { g.Measurements = append(g.Measurements, g.Measurements[0]) },
		"long label": func(g *Genesis) {
			g.Measurements = append(g.Measurements, GenesisMeasurement{ID: "tdx:" + strings.Repeat("a", 64), Label: strings.Repeat("l", 200)})
		},
	} {
		g := good
		g.Measurements = append([]GenesisMeasurement(nil), good.Measurements...)
		g.Params.TCBPolicy = append([]TCBRule(nil), good.Params.TCBPolicy...)
		mut(&g)
		raw, _ := json.Marshal(g)
		if err := m.ValidateGenesis(raw, 42); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Fields left out take production defaults: no simulated TEEs.
	g, err := parseGenesis(json.RawMessage(`{"params":{"attestation_validity_blocks":100}}`))
	if err != nil {
		t.Fatal(err)
	}
	if g.Params.AllowSimulatedTEE || g.Params.AttestationValidityBlocks != 100 || g.Params.MaxCollateralBytes != DefaultMaxCollateral || len(g.Params.TCBPolicy) != 5 {
		t.Fatalf("defaults %+v", g.Params)
	}
	if err := m.ValidateGenesis(json.RawMessage(`[]`), 42); err == nil {
		t.Fatal("non-object genesis accepted")
	}
	// A misspelt field is refused rather than silently defaulted.
	for _, raw := range []string{
		`{"params":{"attestation_validity_block":100}}`,
		`{"params":{"tcb_polcy":[]}}`,
		`{"measurement":[]}`,
		`{"params":{}} {}`,
	} {
		if err := m.ValidateGenesis(json.RawMessage(raw), 42); err == nil {
			t.Errorf("genesis %s accepted", raw)
		}
	}
	// The dev genesis allows the dev worker.
	var dev Genesis
	if err := json.Unmarshal(m.DefaultGenesis(), &dev); err != nil || !dev.Params.AllowSimulatedTEE || dev.Measurements[0].ID != SimulatedMeasurementID(DevWorkerMeasurement()) {
		t.Fatalf("dev genesis %+v %v", dev, err)
	}
}

func TestReportDataAndOperatorMessage(t *testing.T) {
	id := make([]byte, 32)
	hk := make([]byte, HPKEPublicKeySize)
	a := ReportData("veil-dev", [32]byte{1}, id, hk)
	if a == ReportData("veil-dew", [32]byte{1}, id, hk) || a == ReportData("veil-dev", [32]byte{2}, id, hk) {
		t.Fatal("report data ignores its inputs")
	}
	if string(OperatorMessage("c", [32]byte{}, id, types.AccountID{1})) == string(OperatorMessage("c", [32]byte{}, id, types.AccountID{2})) {
		t.Fatal("operator message ignores the operator")
	}
	if !strings.HasPrefix(string(OperatorMessage("c", [32]byte{}, id, types.AccountID{})), OperatorDomain+"\x00") {
		t.Fatal("operator message lacks its domain")
	}
	for c := types.CodeModuleSpecificStart; c <= CodeBadOperatorSignature; c++ {
		if CodeName(c) == "" {
			t.Errorf("code %d has no name", c)
		}
	}
}

// TestAttestErrorMapping pins the registry code of every attest sentinel
// (docs/registry.md, "Error codes"), including those no shared test vector
// produces (debug TEEs, revoked certificates).
func TestAttestErrorMapping(t *testing.T) {
	for sentinel, want := range map[error]types.Code{
		attest.ErrEvidenceFormat: CodeMalformedEvidence, attest.ErrUnsupported: CodeMalformedEvidence,
		attest.ErrKindMismatch: CodeMalformedEvidence, attest.ErrCollateralFormat: CodeMalformedCollateral,
		attest.ErrCertChain: CodeBadIssuerChain, attest.ErrCertExpired: CodeCollateralExpired,
		attest.ErrCRL: CodeBadIssuerChain, attest.ErrRevoked: CodeRevoked,
		attest.ErrCollateralExpired: CodeCollateralExpired, attest.ErrCollateralNotYetValid: CodeCollateralNotYetValid,
		attest.ErrCollateralSignature: CodeBadIssuerChain, attest.ErrTCBInfoMismatch: CodeMalformedCollateral,
		attest.ErrQEReportSignature: CodeInvalidEvidence, attest.ErrQEReportData: CodeInvalidEvidence,
		attest.ErrQEIdentityMismatch: CodeInvalidEvidence, attest.ErrTDXModuleMismatch: CodeInvalidEvidence,
		attest.ErrTCBLevelNotFound: CodeTCBNotAllowed, attest.ErrQuoteSignature: CodeInvalidEvidence,
		attest.ErrDebugNotAllowed: CodeDebugTEE, attest.ErrSimulatedNotAllowed: CodeSimulatedNotAllowed,
		attest.ErrReportDataMismatch: CodeBindingMismatch,
	} {
		wrapped := fmt.Errorf("verify sgx evidence: %w: detail", sentinel)
		if got := attestCode(wrapped); got != want {
			t.Errorf("%v -> %d (%s), want %d (%s)", sentinel, got, CodeName(got), want, CodeName(want))
		}
	}
	if got := attestCode(errors.New("unexpected")); got != CodeInvalidEvidence {
		t.Errorf("unknown error -> %d", got)
	}
}
