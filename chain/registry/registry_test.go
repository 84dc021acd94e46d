package registry

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

func TestRegisterRefreshAndQuery(t *testing.T) {
	e := newEnv(t, DevGenesis())
	w := newSimWorker(t, DevWorkerMeasurement())
	if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
		t.Fatalf("register: %v", err)
	}
	rec := Worker(e.ctx.Store, w.pub())
	if rec == nil {
		t.Fatal("no record")
	}
	if rec.GetRegisteredAt() != 1 || rec.GetAttestedAt() != 1 || rec.GetExpiresAt() != 1+DefaultValidityBlocks ||
		!rec.GetSimulated() || rec.GetConfidence() != SimulatedConfidence || rec.GetTcbStatus() != string(attest.TCBNotApplicable) ||
		rec.GetMeasurementId() != SimulatedMeasurementID(DevWorkerMeasurement()) || !bytes.Equal(rec.GetOperator(), e.oper[:]) {
		t.Fatalf("record %v", rec)
	}
	if len(e.events) != 1 || e.events[0].Type != "worker_registered" {
		t.Fatalf("events %v", e.events)
	}

	// Re-registration by the same operator refreshes the expiry and keeps
	// the first registration height.
	e.advance(100)
	if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	rec = Worker(e.ctx.Store, w.pub())
	if rec.GetRegisteredAt() != 1 || rec.GetAttestedAt() != 100 || rec.GetExpiresAt() != 100+DefaultValidityBlocks {
		t.Fatalf("refreshed record %v", rec)
	}
	if last := e.events[len(e.events)-1]; last.Type != "worker_refreshed" {
		t.Fatalf("event %v", last)
	}
	// Exactly one expiry index entry remains, for the new expiry.
	n := 0
	e.store().Iterate(prefixExpiry, func(k, _ []byte) bool { n++; return true })
	if n != 1 || !e.store().Has(expiryKey(100+DefaultValidityBlocks, w.pub())) {
		t.Fatalf("expiry index has %d entries", n)
	}

	v, err := e.query("worker", WorkerQuery{Identity: types.HexID(w.pub())})
	if err != nil {
		t.Fatal(err)
	}
	wv := v.(WorkerView)
	if wv.Stale || wv.Operator != e.oper.Address(42) || wv.Identity != types.HexID(w.pub()) || wv.HPKESuite.KEM != HPKEKEMID {
		t.Fatalf("view %+v", wv)
	}
	if _, err := e.query("worker", WorkerQuery{Identity: strings.Repeat("00", 32)}); types.CodeOf(err) != types.CodeNotFound {
		t.Fatalf("absent worker: %v", err)
	}
	if _, err := e.query("worker", WorkerQuery{Identity: "zz"}); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("bad identity: %v", err)
	}
	if _, err := e.m.Query(e.ctx, "worker", []byte("{")); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("bad args: %v", err)
	}
	if _, err := e.query("nope", nil); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("unknown path: %v", err)
	}
	ms, _ := e.query("measurements", nil)
	if l := ms.([]MeasurementView); len(l) != 1 || l[0].ID != SimulatedMeasurementID(DevWorkerMeasurement()) {
		t.Fatalf("measurements %v", l)
	}
	ps, _ := e.query("params", nil)
	if p := ps.(Params); !p.AllowSimulatedTEE || p.AttestationValidityBlocks != DefaultValidityBlocks {
		t.Fatalf("params %+v", p)
	}
}

func TestWorkersSortedAndStaleSweep(t *testing.T) {
	g := DevGenesis()
	g.Params.AttestationValidityBlocks = 10
	e := newEnv(t, g)
	const n = MaxStalePerBlock + 6
	for range n {
		w := newSimWorker(t, DevWorkerMeasurement())
		if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
			t.Fatal(err)
		}
	}
	// One more, registered later, expires later.
	late := newSimWorker(t, DevWorkerMeasurement())
	e.advance(5)
	if err := e.exec(e.oper, late.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	v, _ := e.query("workers", nil)
	list := v.([]WorkerView)
	if len(list) != n+1 {
		t.Fatalf("%d workers", len(list))
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Identity >= list[i].Identity {
			t.Fatal("workers not sorted by identity")
		}
	}
	if evs := e.advance(10); len(evs) != 0 {
		t.Fatalf("stale events before expiry: %v", evs)
	}
	// At height 11 = 1 + 10 the first n expire: the sweep announces at
	// most MaxStalePerBlock of them per block.
	evs := e.advance(11)
	if len(evs) != MaxStalePerBlock {
		t.Fatalf("%d stale events at expiry, want %d", len(evs), MaxStalePerBlock)
	}
	for _, ev := range evs {
		if ev.Type != "worker_stale" || ev.Attrs[2].Value != "11" {
			t.Fatalf("event %v", ev)
		}
	}
	v, _ = e.query("workers", nil)
	for _, wv := range v.([]WorkerView) {
		if wv.Stale != (wv.Identity != types.HexID(late.pub())) {
			t.Fatalf("worker %s stale=%v at height %d (expires %d)", wv.Identity, wv.Stale, e.ctx.Height, wv.ExpiresAt)
		}
	}
	if evs := e.advance(12); len(evs) != n-MaxStalePerBlock {
		t.Fatalf("%d stale events in the next block, want %d", len(evs), n-MaxStalePerBlock)
	}
	if evs := e.advance(14); len(evs) != 0 {
		t.Fatalf("events %v", evs)
	}
	if evs := e.advance(15); len(evs) != 1 || evs[0].Attrs[0].Value != types.HexID(late.pub()) {
		t.Fatalf("late worker: %v", evs)
	}
	// A stale worker re-registers and is fresh again; its old index entry
	// is gone, so it is not announced twice.
	if err := e.exec(e.oper, late.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	if IsStale(Worker(e.ctx.Store, late.pub()), e.ctx.Height) {
		t.Fatal("refreshed worker still stale")
	}
}

// badCase is a registration that must fail with code and change nothing.
type badCase struct {
	name   string
	sender types.AccountID
	msg    proto.Message
	code   types.Code
}

func runBad(t *testing.T, e *env, cases []badCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.store().Clone()
			evBefore := len(e.events)
			err := e.exec(c.sender, c.msg)
			if types.CodeOf(err) != c.code {
				t.Fatalf("code %d (%v), want %d (%s)", types.CodeOf(err), err, c.code, CodeName(c.code))
			}
			if !before.Equal(e.store()) {
				t.Fatal("a rejected message changed state")
			}
			if len(e.events) != evBefore {
				t.Fatal("a rejected message emitted events")
			}
			if c.code >= types.CodeModuleSpecificStart && !strings.Contains(err.Error(), CodeName(c.code)) {
				t.Fatalf("error %q does not name its code", err)
			}
		})
	}
}

func TestRegisterRejections(t *testing.T) {
	e := newEnv(t, DevGenesis())
	w := newSimWorker(t, DevWorkerMeasurement())
	other := newSimWorker(t, DevWorkerMeasurement())
	// w is registered to e.oper so that the hijack case has an owner.
	if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	fresh := newSimWorker(t, DevWorkerMeasurement())
	mut := func(f func(m *registryv1.MsgRegisterWorker)) *registryv1.MsgRegisterWorker {
		m := fresh.register(t, e.oper)
		f(m)
		return m
	}
	// Evidence that binds another worker's keys (a relayer pairing one
	// worker's quote with another's identity).
	swapped := mut(func(m *registryv1.MsgRegisterWorker) { m.Evidence = other.register(t, e.oper).Evidence })
	// Evidence for another chain's genesis, declared honestly.
	otherGenesis := [32]byte{9}
	wrongGenesis := mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.GenesisHash = otherGenesis[:] })
	wrongChain := mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.ChainId = "other-chain" })
	// ... or lied about: declared as this chain but bound to another.
	lied := func() *registryv1.MsgRegisterWorker {
		m := fresh.register(t, e.oper)
		ev, _ := fresh.platform.Evidence(t.Context(), ReportData(testChainID, otherGenesis, fresh.pub(), fresh.hpkePub))
		m.Evidence.Quote = ev.Quote
		return m
	}()
	unlisted := newSimWorker(t, []byte("some other build"))
	garbage := mut(func(m *registryv1.MsgRegisterWorker) { m.Evidence.Quote = []byte("definitely not a quote") })
	garbageSGX := mut(func(m *registryv1.MsgRegisterWorker) {
		m.WorkerInfo.TeeKind, m.Evidence.Kind, m.Evidence.Quote = "sgx", "sgx", bytes.Repeat([]byte{3, 0}, 600)
	})
	truncated := mut(func(m *registryv1.MsgRegisterWorker) { m.Evidence.Quote = m.Evidence.Quote[:len(m.Evidence.Quote)-1] })
	badSig := mut(func(m *registryv1.MsgRegisterWorker) { m.Evidence.Quote[len(m.Evidence.Quote)-1] ^= 1 })
	oversized := mut(func(m *registryv1.MsgRegisterWorker) { m.Collateral = make([]byte, DefaultMaxCollateral+1) })
	simCollateral := mut(func(m *registryv1.MsgRegisterWorker) { m.Collateral = []byte(`{"x":"y"}`) })
	attacker := types.AccountID{0xbb}
	hijack := w.register(t, attacker)
	replayed := w.register(t, e.oper) // consent to e.oper, sent by attacker
	wrongSigner := mut(func(m *registryv1.MsgRegisterWorker) {
		_, k, _ := ed25519.GenerateKey(nil)
		m.OperatorSignature = ed25519.Sign(k, OperatorMessage(testChainID, testGenesisHash, fresh.pub(), e.oper))
	})

	cases := []badCase{
		{"binding mismatch (evidence of another key)", e.oper, swapped, CodeBindingMismatch},
		{"other chain's genesis hash", e.oper, wrongGenesis, CodeWrongChain},
		{"other chain id", e.oper, wrongChain, CodeWrongChain},
		{"declared this chain, bound another", e.oper, lied, CodeBindingMismatch},
		{"measurement not on allowlist", e.oper, unlisted.register(t, e.oper), CodeMeasurementNotAllowed},
		{"garbage quote", e.oper, garbage, CodeMalformedEvidence},
		{"garbage SGX quote", e.oper, garbageSGX, CodeMalformedEvidence},
		{"truncated quote", e.oper, truncated, CodeMalformedEvidence},
		{"forged evidence signature", e.oper, badSig, CodeInvalidEvidence},
		{"oversized collateral", e.oper, oversized, CodeCollateralTooLarge},
		{"collateral for simulated evidence", e.oper, simCollateral, CodeMalformedCollateral},
		{"hijack by another operator", attacker, hijack, CodeHijack},
		{"replayed consent from another account", attacker, replayed, CodeBadOperatorSignature},
		{"consent signed by another key", e.oper, wrongSigner, CodeBadOperatorSignature},
		{"no operator signature", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.OperatorSignature = nil }), CodeBadOperatorSignature},
		{"no worker info", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo = nil }), CodeInvalidWorkerInfo},
		{"no evidence", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.Evidence = nil }), CodeMalformedEvidence},
		{"short identity", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.Identity = m.WorkerInfo.Identity[:31] }), CodeInvalidWorkerInfo},
		{"short HPKE key", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.HpkePublicKey = m.WorkerInfo.HpkePublicKey[:32] }), CodeInvalidWorkerInfo},
		{"HPKE key off the curve", e.oper, mut(func(m *registryv1.MsgRegisterWorker) {
			m.WorkerInfo.HpkePublicKey = bytes.Repeat([]byte{0xff}, HPKEPublicKeySize)
		}), CodeInvalidWorkerInfo},
		{"other HPKE suite", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.HpkeSuite.KemId = 0x20 }), CodeInvalidWorkerInfo},
		{"no HPKE suite", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.HpkeSuite = nil }), CodeInvalidWorkerInfo},
		{"version too long", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.Version = strings.Repeat("v", 65) }), CodeInvalidWorkerInfo},
		{"alias kind spelling", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.TeeKind, m.Evidence.Kind = "sgx-dcap", "sgx-dcap" }), CodeInvalidWorkerInfo},
		{"unknown kind", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.TeeKind, m.Evidence.Kind = "nitro", "nitro" }), CodeInvalidWorkerInfo},
		{"evidence kind differs", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.Evidence.Kind = "tdx" }), CodeMalformedEvidence},
		{"simulated bytes declared TDX", e.oper, mut(func(m *registryv1.MsgRegisterWorker) { m.WorkerInfo.TeeKind, m.Evidence.Kind = "tdx", "tdx" }), CodeMalformedEvidence},
	}
	runBad(t, e, cases)

	// Simulated evidence on a production chain.
	prod := newEnv(t, ProductionGenesis())
	if err := prod.exec(prod.sudo, &registryv1.MsgAddMeasurement{MeasurementId: SimulatedMeasurementID(DevWorkerMeasurement())}); err != nil {
		t.Fatal(err)
	}
	runBad(t, prod, []badCase{{"simulated on a production chain", prod.oper, fresh.register(t, prod.oper), CodeSimulatedNotAllowed}})

	// Before the first block there is no time to verify against.
	zero := newEnv(t, DevGenesis())
	zero.ctx.Time = time.Time{}
	runBad(t, zero, []badCase{{"no block time", zero.oper, fresh.register(t, zero.oper), types.CodeInvalidRequest}})
}
