package contracts

import (
	"bytes"
	"crypto/ed25519"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// Egress topics the module receives (app.NewModuleSet routes "contracts").
const (
	TopicKeys   = Name + "/keys"
	TopicState  = Name + "/state"
	TopicEgress = Name + "/egress"
)

// HandleEgress implements mq.EgressHandler. The mq module has already
// checked the worker's signature, that it is registered and not stale,
// and its egress sequence; it consumes that sequence whatever the outcome
// and keeps this handler's writes and events only when it returns nil.
func (m *Module) HandleEgress(ctx *types.Context, sender [32]byte, topic string, payload []byte) error {
	switch topic {
	case TopicKeys:
		var p contractsv1.ContractKeyPublication
		if err := proto.Unmarshal(payload, &p); err != nil {
			return types.Errf(types.CodeInvalidRequest, "malformed contract key publication: %v", err)
		}
		return m.handleKeys(ctx, sender, &p)
	case TopicState:
		var r contractsv1.StateReport
		if err := proto.Unmarshal(payload, &r); err != nil {
			return types.Errf(types.CodeInvalidRequest, "malformed state report: %v", err)
		}
		return m.handleState(ctx, sender, &r)
	case TopicEgress:
		var e contractsv1.SignedContractEgress
		if err := proto.Unmarshal(payload, &e); err != nil {
			return types.Errf(types.CodeInvalidRequest, "malformed contract egress: %v", err)
		}
		return m.handleContractEgress(ctx, sender, &e)
	}
	return types.Errf(types.CodeInvalidRequest, "unknown contracts egress topic %q (want %s, %s or %s)", topic, TopicKeys, TopicState, TopicEgress)
}

// handleKeys takes a gatekeeper's answer to a ContractKeyRequest. The first
// publication fixes the contract's public keys. Every gatekeeper answers,
// so later ones normally repeat them; a later one with different keys
// means gatekeepers disagree about the master key (a fault or an attack):
// it changes nothing and forwards nothing, and is recorded as the event
// contract_key_mismatch (the handler returns success because the mq
// wrapper drops the events of refused egress, and the incident must be
// visible). Each sealed delivery is forwarded once per (contract, worker,
// epoch), and only to workers assigned now: a publication answering an
// older request may name workers since replaced.
func (m *Module) handleKeys(ctx *types.Context, sender [32]byte, p *contractsv1.ContractKeyPublication) error {
	id, rec, err := contractArg(ctx.Store, p.GetContractId())
	if err != nil {
		return err
	}
	if !registry.IsGatekeeper(ctx.Store, sender[:]) {
		return errf(CodeNotGatekeeper, "worker %s is not a gatekeeper", types.HexID(sender[:]))
	}
	if p.GetEpoch() != rec.GetKeyEpoch() {
		return errf(CodeWrongKeyEpoch, "keys for epoch %d, contract %s uses epoch %d", p.GetEpoch(), types.HexID(id[:]), rec.GetKeyEpoch())
	}
	if !registry.ValidHPKEPublicKey(p.GetHpkePublicKey()) {
		return errf(CodeInvalidContractKey, "HPKE public key is not a valid X-Wing key (%d bytes)", len(p.GetHpkePublicKey()))
	}
	if len(p.GetSigningPublicKey()) != ed25519.PublicKeySize {
		return errf(CodeInvalidContractKey, "signing public key has %d bytes, want %d", len(p.GetSigningPublicKey()), ed25519.PublicKeySize)
	}
	for i, d := range p.GetDeliveries() {
		if len(d.GetRecipient()) != 32 || len(d.GetSealed()) == 0 {
			return errf(CodeInvalidContractKey, "delivery %d: recipient must be 32 bytes and sealed non-empty", i)
		}
	}
	if len(rec.GetHpkePublicKey()) == 0 {
		rec.HpkePublicKey, rec.SigningPublicKey, rec.KeysPublishedAt = p.GetHpkePublicKey(), p.GetSigningPublicKey(), ctx.Height
		putContract(ctx.Store, rec)
		if ctx.Emitting() {
			ctx.Emit("contract_keys_published", types.Attr{Key: "contract", Value: types.HexID(id[:])},
				types.Attr{Key: "gatekeeper", Value: types.HexID(sender[:])},
				types.Attr{Key: "epoch", Value: strconv.FormatUint(rec.GetKeyEpoch(), 10)})
		}
	} else if !bytes.Equal(rec.GetHpkePublicKey(), p.GetHpkePublicKey()) || !bytes.Equal(rec.GetSigningPublicKey(), p.GetSigningPublicKey()) {
		ctx.Emit("contract_key_mismatch", types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "gatekeeper", Value: types.HexID(sender[:])},
			types.Attr{Key: "epoch", Value: strconv.FormatUint(rec.GetKeyEpoch(), 10)})
		return nil
	}
	for _, d := range p.GetDeliveries() {
		w := d.GetRecipient()
		dk := deliveredKey(id, w, rec.GetKeyEpoch())
		if !isAssigned(rec, w) || ctx.Store.Has(dk) {
			continue
		}
		ctx.Store.Set(dk, []byte{})
		seq, err := m.send(ctx, mq.WorkerTopic([32]byte(w)), &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractKey{
			ContractKey: &contractsv1.ContractKeyDelivery{ContractId: id[:], Epoch: rec.GetKeyEpoch(), CodeHash: rec.GetCodeHash(), Sealed: d.GetSealed()}}})
		if err != nil {
			return err
		}
		if ctx.Emitting() {
			ctx.Emit("contract_key_delivered", types.Attr{Key: "contract", Value: types.HexID(id[:])},
				types.Attr{Key: "worker", Value: types.HexID(w)}, types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)})
		}
	}
	return nil
}

// handleState records the first state root an assigned worker reports for
// a sequence of the contract's log; a different root from another worker
// marks the sequence disputed and is announced (replicas diverged: a bug,
// non-determinism, or a misbehaving worker).
func (m *Module) handleState(ctx *types.Context, sender [32]byte, r *contractsv1.StateReport) error {
	id, rec, err := contractArg(ctx.Store, r.GetContractId())
	if err != nil {
		return err
	}
	if !isAssigned(rec, sender[:]) {
		return errf(CodeNotAssigned, "worker %s is not assigned to contract %s", types.HexID(sender[:]), types.HexID(id[:]))
	}
	if len(r.GetStateRoot()) != 32 {
		return types.Errf(types.CodeInvalidRequest, "state root has %d bytes, want 32", len(r.GetStateRoot()))
	}
	if next := mq.NextSequence(ctx.Store, mq.ContractTopic(id)); r.GetSequence() >= next {
		return errf(CodeSequenceUnknown, "contract %s has %d messages, no sequence %d", types.HexID(id[:]), next, r.GetSequence())
	}
	k := RootKey(id, r.GetSequence())
	first := &contractsv1.StateRootRecord{}
	if !types.GetProto(ctx.Store, k, first) {
		types.SetProto(ctx.Store, k, &contractsv1.StateRootRecord{Worker: sender[:], StateRoot: r.GetStateRoot(), Height: ctx.Height})
		return nil
	}
	if bytes.Equal(first.GetStateRoot(), r.GetStateRoot()) {
		return nil
	}
	if !first.GetDisputed() {
		first.Disputed = true
		types.SetProto(ctx.Store, k, first)
	}
	if ctx.Emitting() {
		ctx.Emit("contract_state_discrepancy",
			types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "sequence", Value: strconv.FormatUint(r.GetSequence(), 10)},
			types.Attr{Key: "worker", Value: types.HexID(first.GetWorker())},
			types.Attr{Key: "state_root", Value: types.HexID(first.GetStateRoot())},
			types.Attr{Key: "other_worker", Value: types.HexID(sender[:])},
			types.Attr{Key: "other_state_root", Value: types.HexID(r.GetStateRoot())})
	}
	return nil
}

// handleContractEgress executes a contract's signed on-chain effects once.
// Every replica submits the same signed egress; the first accepted wins
// and the others are refused as duplicates (CodeEgressDuplicate). The
// transfers are all or nothing: if one cannot be paid (insufficient
// funds, the recipient's existential deposit), the whole egress is
// refused, nothing is paid and the sequence is not consumed, so a later
// egress of the same or a higher sequence can still be accepted.
func (m *Module) handleContractEgress(ctx *types.Context, sender [32]byte, e *contractsv1.SignedContractEgress) error {
	var body contractsv1.ContractEgress
	if err := proto.Unmarshal(e.GetBody(), &body); err != nil {
		return types.Errf(types.CodeInvalidRequest, "malformed contract egress body: %v", err)
	}
	id, rec, err := contractArg(ctx.Store, body.GetContractId())
	if err != nil {
		return err
	}
	if !isAssigned(rec, sender[:]) {
		return errf(CodeNotAssigned, "worker %s is not assigned to contract %s", types.HexID(sender[:]), types.HexID(id[:]))
	}
	if len(rec.GetSigningPublicKey()) != ed25519.PublicKeySize {
		return errf(CodeKeysNotPublished, "contract %s has no signing key yet", types.HexID(id[:]))
	}
	if len(e.GetSignature()) != ed25519.SignatureSize || !ed25519.Verify(rec.GetSigningPublicKey(), EgressSigningBytes(e.GetBody()), e.GetSignature()) {
		return errf(CodeEgressSignature, "contract egress is not signed by contract %s", types.HexID(id[:]))
	}
	seq := body.GetSequence()
	if rec.GetHasEgress() && seq <= rec.GetEgressAfter() {
		return errf(CodeEgressDuplicate, "contract %s egress %d: sequences up to %d are done", types.HexID(id[:]), seq, rec.GetEgressAfter())
	}
	if next := mq.NextSequence(ctx.Store, mq.ContractTopic(id)); seq >= next {
		return errf(CodeSequenceUnknown, "contract %s has %d messages, no sequence %d", types.HexID(id[:]), next, seq)
	}
	if len(body.GetTransfers()) > MaxTransfers {
		return types.Errf(types.CodeInvalidRequest, "%d transfers, at most %d", len(body.GetTransfers()), MaxTransfers)
	}
	account := types.AccountID(rec.GetAccount())
	for i, t := range body.GetTransfers() {
		to, err := types.AccountFromBytes(t.GetTo())
		if err != nil {
			return err
		}
		amount, err := types.ParseAmount(t.GetAmount())
		if err != nil {
			return types.Errf(types.CodeInvalidAmount, "transfer %d amount: %v", i, err)
		}
		if amount.IsZero() {
			return types.Errf(types.CodeInvalidAmount, "transfer %d has amount zero", i)
		}
		// The contract account may keep any remainder (bank.PayOut); the
		// recipient must not be left holding dust.
		if err := m.bank.PayOut(ctx, account, to, amount); err != nil {
			return err
		}
		if ctx.Emitting() {
			ctx.Emit("contract_transfer", types.Attr{Key: "contract", Value: types.HexID(id[:])},
				types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)},
				types.Attr{Key: "to", Value: ctx.Address(to)},
				types.Attr{Key: "amount", Value: amount.String()})
		}
	}
	rec.EgressAfter, rec.HasEgress = seq, true
	putContract(ctx.Store, rec)
	if ctx.Emitting() {
		ctx.Emit("contract_egress", types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)},
			types.Attr{Key: "worker", Value: types.HexID(sender[:])},
			types.Attr{Key: "transfers", Value: strconv.Itoa(len(body.GetTransfers()))})
	}
	return nil
}
