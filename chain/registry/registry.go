// Package registry is the worker registry (Phala's pallet registry): TEE
// workers register with remote-attestation evidence that every validator
// verifies at the block time, binding the worker's identity and HPKE keys to
// this chain; governance keeps the allowlist of code measurements and the
// TCB policy; registrations expire and are refreshed by the worker's
// relayer.
//
// State (all under provable keys, so a light client can check them):
//
//	registry/params                      JSON Params
//	registry/measurement/<id>            JSON {label, added_at}
//	registry/worker/<32-byte identity>   protobuf WorkerRecord
//	registry/expiry/<u64be height><id>   empty; expiry index for the sweep
//	registry/synced/<32-byte identity>   protobuf WorkerSync (egress report)
//	registry/gatekeeper/..., registry/master/...  gatekeepers and master-key
//	                                     epochs (see gatekeeper.go)
//
// The registry is also the chain's egress authority (mq.EgressSenders:
// only registered, non-stale workers may send egress) and receives the
// "registry/..." egress topics (see egress.go).
package registry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// Name is the module name and state prefix.
const Name = "registry"

// RegisterWeight is the fee weight of MsgRegisterWorker: a DCAP
// verification costs every validator 2–5 ms (docs/benchmarks.md), about
// fifty transfers' worth of work.
const RegisterWeight = 50

// MaxStalePerBlock bounds the expiry sweep of one EndBlock; workers beyond
// it are announced stale in the following blocks (their records read as
// stale from expires_at on regardless).
const MaxStalePerBlock = 64

var (
	keyParams         = []byte("registry/params")
	prefixMeasurement = []byte("registry/measurement/")
	prefixWorker      = []byte("registry/worker/")
	prefixExpiry      = []byte("registry/expiry/")
)

// WorkerKey is the provable state key of a worker's record.
func WorkerKey(identity []byte) []byte {
	return append(append(make([]byte, 0, len(prefixWorker)+len(identity)), prefixWorker...), identity...)
}

// MeasurementKey is the provable state key of an allowlist entry.
func MeasurementKey(id string) []byte {
	return append(append(make([]byte, 0, len(prefixMeasurement)+len(id)), prefixMeasurement...), id...)
}

func expiryKey(height int64, identity []byte) []byte {
	k := append(make([]byte, 0, len(prefixExpiry)+8+len(identity)), prefixExpiry...)
	k = binary.BigEndian.AppendUint64(k, uint64(height))
	return append(k, identity...)
}

// measurementEntry is the stored value of an allowlist entry.
type measurementEntry struct {
	Label   string `json:"label,omitempty"`
	AddedAt int64  `json:"added_at"`
}

// Module implements types.Module, types.EndBlocker and types.Querier.
type Module struct {
	// verifier holds only the parsed vendor roots and is safe for
	// concurrent use by the mempool and consensus connections.
	verifier *attest.Verifier
	// ParamStore provides Params and SetParams.
	types.ParamStore[Params, paramsKey]
	// sender is the message queue (SetSender), for gatekeeper messages.
	sender mq.Sender
	// onStale is told about each worker whose attestation expired
	// (SetStaleHook): the contracts module replaces it.
	onStale func(ctx *types.Context, identity []byte) error
}

// SetStaleHook registers fn to run, in EndBlock, for every worker whose
// attestation expires at the block's height.
func (m *Module) SetStaleHook(fn func(ctx *types.Context, identity []byte) error) { m.onStale = fn }

// New returns the registry module.
func New() *Module { return &Module{verifier: attest.NewVerifier()} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// DefaultGenesis is the dev genesis: simulated TEEs allowed and the dev
// worker's measurement on the allowlist.
func (*Module) DefaultGenesis() json.RawMessage {
	b, _ := json.Marshal(DevGenesis())
	return b
}

// ValidateGenesis implements types.Module.
func (*Module) ValidateGenesis(raw json.RawMessage, _ uint16) error {
	_, err := parseGenesis(raw)
	return err
}

// InitGenesis implements types.Module.
func (m *Module) InitGenesis(ctx *types.Context, raw json.RawMessage) error {
	g, err := parseGenesis(raw)
	if err != nil {
		return err
	}
	m.SetParams(ctx.Store, g.Params)
	for _, e := range g.Measurements {
		setMeasurement(ctx.Store, e.ID, measurementEntry{Label: e.Label, AddedAt: ctx.Height})
	}
	return nil
}

// paramsKey places the parameters under keyParams (types.ParamStore).
type paramsKey struct{}

func (paramsKey) Key() []byte { return keyParams }

func setMeasurement(s types.KVStore, id string, e measurementEntry) {
	b, _ := json.Marshal(e)
	s.Set(MeasurementKey(id), b)
}

// MeasurementAllowed reports whether a measurement id is on the allowlist.
func MeasurementAllowed(s types.KVStore, id string) bool { return s.Has(MeasurementKey(id)) }

// Worker reads a worker record (nil if absent).
func Worker(s types.KVStore, identity []byte) *registryv1.WorkerRecord {
	r := &registryv1.WorkerRecord{}
	if !types.GetProto(s, WorkerKey(identity), r) {
		return nil
	}
	return r
}

func putWorker(s types.KVStore, r *registryv1.WorkerRecord) {
	types.SetProto(s, WorkerKey(r.GetIdentity()), r)
}

// IsStale reports whether a record's attestation has expired at height.
func IsStale(r *registryv1.WorkerRecord, height int64) bool { return height >= r.GetExpiresAt() }

// errf builds a registry error whose message starts with the code's name,
// so logs read well although types.Code.String knows only core codes.
func errf(code types.Code, format string, args ...any) *types.Error {
	return types.Errf(code, "%s: %s", CodeName(code), fmt.Sprintf(format, args...))
}

// RegisterMessages implements types.Module.
func (m *Module) RegisterMessages(r *types.Router) {
	types.Handle(r, RegisterWeight, m.registerWorker)
	types.Handle(r, 1, func(ctx *types.Context, sender types.AccountID, msg *registryv1.MsgAddMeasurement) error {
		if err := sudo.Require(ctx, sender, "add_measurement"); err != nil {
			return err
		}
		id := msg.GetMeasurementId()
		if err := ValidateMeasurementID(id); err != nil {
			return types.Errf(types.CodeInvalidRequest, "%v", err)
		}
		if len(msg.GetLabel()) > MaxLabelBytes {
			return types.Errf(types.CodeInvalidRequest, "label longer than %d bytes", MaxLabelBytes)
		}
		setMeasurement(ctx.Store, id, measurementEntry{Label: msg.GetLabel(), AddedAt: ctx.Height})
		ctx.Emit("measurement_added", types.Attr{Key: "measurement", Value: id}, types.Attr{Key: "label", Value: msg.GetLabel()})
		return nil
	})
	types.Handle(r, 1, func(ctx *types.Context, sender types.AccountID, msg *registryv1.MsgRemoveMeasurement) error {
		if err := sudo.Require(ctx, sender, "remove_measurement"); err != nil {
			return err
		}
		id := msg.GetMeasurementId()
		if !MeasurementAllowed(ctx.Store, id) {
			return types.Errf(types.CodeNotFound, "measurement %q is not on the allowlist", truncate(id))
		}
		ctx.Store.Delete(MeasurementKey(id))
		ctx.Emit("measurement_removed", types.Attr{Key: "measurement", Value: id})
		return nil
	})
	types.Handle(r, 1, func(ctx *types.Context, sender types.AccountID, msg *registryv1.MsgSetTCBPolicy) error {
		if err := sudo.Require(ctx, sender, "set_tcb_policy"); err != nil {
			return err
		}
		rules := make([]TCBRule, len(msg.GetRules()))
		for i, r := range msg.GetRules() {
			rules[i] = TCBRule{Status: attest.TCBStatus(r.GetStatus()), Confidence: r.GetConfidence()}
		}
		if err := ValidateTCBPolicy(rules); err != nil {
			return types.Errf(types.CodeInvalidRequest, "%v", err)
		}
		p := m.Params(ctx.Store)
		p.TCBPolicy = sortRules(rules)
		m.SetParams(ctx.Store, p)
		if ctx.Emitting() {
			parts := make([]string, len(p.TCBPolicy))
			for i, r := range p.TCBPolicy {
				parts[i] = fmt.Sprintf("%s=%d", r.Status, r.Confidence)
			}
			ctx.Emit("tcb_policy_set", types.Attr{Key: "policy", Value: strings.Join(parts, ",")})
		}
		return nil
	})
	m.registerGatekeeperMessages(r)
}

// checkWorkerInfo validates what the worker declares, before any expensive
// work.
func checkWorkerInfo(ctx *types.Context, wi *registryv1.WorkerInfo, ev *registryv1.Evidence) (attest.Kind, error) {
	if wi == nil {
		return "", errf(CodeInvalidWorkerInfo, "worker_info is missing")
	}
	if len(wi.GetIdentity()) != IdentitySize {
		return "", errf(CodeInvalidWorkerInfo, "identity must be a %d-byte ed25519 public key, got %d bytes", IdentitySize, len(wi.GetIdentity()))
	}
	s := wi.GetHpkeSuite()
	if s.GetKemId() != HPKEKEMID || s.GetKdfId() != HPKEKDFID || s.GetAeadId() != HPKEAEADID {
		return "", errf(CodeInvalidWorkerInfo, "HPKE suite kem=%#x kdf=%#x aead=%#x is not supported (want kem=%#x kdf=%#x aead=%#x)",
			s.GetKemId(), s.GetKdfId(), s.GetAeadId(), HPKEKEMID, HPKEKDFID, HPKEAEADID)
	}
	if !ValidHPKEPublicKey(wi.GetHpkePublicKey()) {
		return "", errf(CodeInvalidWorkerInfo, "HPKE public key is not a valid X-Wing key (%d bytes, want %d)", len(wi.GetHpkePublicKey()), HPKEPublicKeySize)
	}
	if len(wi.GetVersion()) > MaxVersionBytes {
		return "", errf(CodeInvalidWorkerInfo, "version longer than %d bytes", MaxVersionBytes)
	}
	kind, err := attest.ParseKind(wi.GetTeeKind())
	if err != nil || string(kind) != wi.GetTeeKind() {
		// Only the canonical spelling: one meaning per transaction byte.
		return "", errf(CodeInvalidWorkerInfo, "tee_kind %q is not one of sgx, tdx, sev-snp, simulated", truncate(wi.GetTeeKind()))
	}
	if ev == nil {
		return "", errf(CodeMalformedEvidence, "evidence is missing")
	}
	if ev.GetKind() != wi.GetTeeKind() {
		return "", errf(CodeMalformedEvidence, "evidence kind %q differs from the worker's tee_kind %q", truncate(ev.GetKind()), wi.GetTeeKind())
	}
	if wi.GetChainId() != ctx.ChainID || !bytes.Equal(wi.GetGenesisHash(), ctx.GenesisHash[:]) {
		return "", errf(CodeWrongChain, "the worker is bound to chain %q with genesis hash %x, this is %q with %x",
			truncate(wi.GetChainId()), wi.GetGenesisHash(), ctx.ChainID, ctx.GenesisHash[:])
	}
	return kind, nil
}

// registerWorker verifies a registration and writes the worker's record.
// The order is cheapest first: declared fields, sizes, the operator
// consent and ownership, then attestation (milliseconds), then binding,
// measurement and TCB policy on the authenticated result.
func (m *Module) registerWorker(ctx *types.Context, sender types.AccountID, msg *registryv1.MsgRegisterWorker) error {
	wi := msg.GetWorkerInfo()
	kind, err := checkWorkerInfo(ctx, wi, msg.GetEvidence())
	if err != nil {
		return err
	}
	p := m.Params(ctx.Store)
	if uint64(len(msg.GetCollateral())) > p.MaxCollateralBytes {
		return errf(CodeCollateralTooLarge, "collateral has %d bytes, the limit is %d", len(msg.GetCollateral()), p.MaxCollateralBytes)
	}
	identity := wi.GetIdentity()
	sig := msg.GetOperatorSignature()
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(ed25519.PublicKey(identity), OperatorMessage(ctx.ChainID, ctx.GenesisHash, identity, sender), sig) {
		return errf(CodeBadOperatorSignature, "the worker's identity key did not sign its consent to operator %s", ctx.Address(sender))
	}
	prev := Worker(ctx.Store, identity)
	if prev != nil && !bytes.Equal(prev.GetOperator(), sender[:]) {
		owner, _ := types.AccountFromBytes(prev.GetOperator())
		return errf(CodeHijack, "worker %x is registered to operator %s", identity, ctx.Address(owner))
	}
	if ctx.Time.IsZero() {
		return types.Errf(types.CodeInvalidRequest, "no block time yet to verify attestation against")
	}

	res, err := m.verifier.Verify(attest.Evidence{Kind: kind, Quote: msg.GetEvidence().GetQuote()}, msg.GetCollateral(),
		attest.Policy{AllowSimulated: p.AllowSimulatedTEE}, ctx.Time)
	if err != nil {
		return errf(attestCode(err), "%v", err)
	}
	return m.admit(ctx, sender, wi, res, prev, p)
}

// admit applies the chain's checks to an authenticated attestation result
// and writes the record: binding, measurement allowlist, TCB policy.
func (m *Module) admit(ctx *types.Context, sender types.AccountID, wi *registryv1.WorkerInfo, res *attest.Result, prev *registryv1.WorkerRecord, p Params) error {
	identity := wi.GetIdentity()
	want := ReportData(ctx.ChainID, ctx.GenesisHash, identity, wi.GetHpkePublicKey())
	if subtle.ConstantTimeCompare(want[:], res.ReportData[:]) != 1 {
		return errf(CodeBindingMismatch, "the evidence binds report data %x, not this worker's keys on this chain (%x)", res.ReportData[:8], want[:8])
	}
	mid, confidence, err := judge(ctx, res, p)
	if err != nil {
		return err
	}

	rec := &registryv1.WorkerRecord{
		Identity:      identity,
		HpkePublicKey: wi.GetHpkePublicKey(),
		HpkeSuite:     &registryv1.HPKESuite{KemId: HPKEKEMID, KdfId: HPKEKDFID, AeadId: HPKEAEADID},
		Operator:      sender[:],
		TeeKind:       string(res.Kind),
		MeasurementId: mid,
		TcbStatus:     string(res.TCBStatus),
		AdvisoryIds:   res.AdvisoryIDs,
		Confidence:    confidence,
		RegisteredAt:  ctx.Height,
		AttestedAt:    ctx.Height,
		ExpiresAt:     ctx.Height + int64(p.AttestationValidityBlocks),
		Simulated:     res.Kind == attest.KindSimulated,
		Version:       wi.GetVersion(),
	}
	event := "worker_registered"
	if prev != nil {
		rec.RegisteredAt = prev.GetRegisteredAt()
		ctx.Store.Delete(expiryKey(prev.GetExpiresAt(), identity))
		event = "worker_refreshed"
	}
	putWorker(ctx.Store, rec)
	ctx.Store.Set(expiryKey(rec.ExpiresAt, identity), []byte{})
	if ctx.Emitting() {
		ctx.Emit(event,
			types.Attr{Key: "worker", Value: types.HexID(identity)},
			types.Attr{Key: "operator", Value: ctx.Address(sender)},
			types.Attr{Key: "tee_kind", Value: rec.TeeKind},
			types.Attr{Key: "measurement", Value: mid},
			types.Attr{Key: "tcb_status", Value: rec.TcbStatus},
			types.Attr{Key: "confidence", Value: strconv.FormatUint(uint64(confidence), 10)},
			types.Attr{Key: "expires_at", Value: strconv.FormatInt(rec.ExpiresAt, 10)},
			types.Attr{Key: "simulated", Value: strconv.FormatBool(rec.Simulated)})
	}
	return nil
}

// judge applies governance's decisions to an authenticated result: the
// measurement must be on the allowlist and the TCB status acceptable.
func judge(ctx *types.Context, res *attest.Result, p Params) (measurementID string, confidence uint32, err error) {
	mid := res.MeasurementID()
	if !MeasurementAllowed(ctx.Store, mid) {
		return "", 0, errf(CodeMeasurementNotAllowed, "measurement %s is not on the allowlist", mid)
	}
	c, err := judgeTCB(res, p)
	if err != nil {
		return "", 0, err
	}
	return mid, c, nil
}

// judgeTCB maps the TCB status onto a confidence level through the policy.
// Simulated workers have no TCB (allow_simulated_tee admitted them) and get
// SimulatedConfidence; a Revoked status is refused whatever the policy.
func judgeTCB(res *attest.Result, p Params) (uint32, error) {
	if res.Kind == attest.KindSimulated {
		return SimulatedConfidence, nil
	}
	if res.TCBStatus == attest.TCBRevoked {
		return 0, errf(CodeRevoked, "the platform's TCB level is revoked")
	}
	if res.TCBBelowEveryLevel {
		// Intel's QVL refuses such platforms ("TCB not supported"); the
		// verifier rates them only by Intel's level order, at best
		// OutOfDate. No policy entry makes them acceptable.
		return 0, errf(CodeTCBNotAllowed, "the platform's TCB is below every TCB level Intel publishes (rated %s by level order)", res.TCBStatus)
	}
	c, ok := p.confidence(res.TCBStatus)
	if !ok {
		return 0, errf(CodeTCBNotAllowed, "TCB status %s is not accepted by the chain's TCB policy (advisories %v)", res.TCBStatus, res.AdvisoryIDs)
	}
	return c, nil
}

// EndBlock announces workers whose attestation expired at this height. It
// visits at most MaxStalePerBlock index entries per block, oldest first, so
// a mass expiry cannot make a block slow; staleness itself is computed from
// expires_at, so a late announcement changes nothing else.
func (m *Module) EndBlock(ctx *types.Context) error {
	type due struct {
		key      []byte
		height   int64
		identity []byte
	}
	var list []due
	ctx.Store.Iterate(prefixExpiry, func(k, _ []byte) bool {
		if len(list) >= MaxStalePerBlock || len(k) != len(prefixExpiry)+8+IdentitySize {
			return false
		}
		h := int64(binary.BigEndian.Uint64(k[len(prefixExpiry):]))
		if h > ctx.Height {
			return false
		}
		list = append(list, due{bytes.Clone(k), h, bytes.Clone(k[len(prefixExpiry)+8:])})
		return true
	})
	for _, d := range list {
		ctx.Store.Delete(d.key)
		rec := Worker(ctx.Store, d.identity)
		if rec == nil || rec.GetExpiresAt() != d.height {
			continue
		}
		if m.onStale != nil {
			if err := m.onStale(ctx, d.identity); err != nil {
				return err
			}
		}
		if ctx.Emitting() {
			op, _ := types.AccountFromBytes(rec.GetOperator())
			ctx.Emit("worker_stale",
				types.Attr{Key: "worker", Value: types.HexID(d.identity)},
				types.Attr{Key: "operator", Value: ctx.Address(op)},
				types.Attr{Key: "expires_at", Value: strconv.FormatInt(d.height, 10)})
		}
	}
	return nil
}
