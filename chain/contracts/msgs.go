package contracts

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/envelope"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// NoMasterKeyHint is the advice of CodeNoMasterKey.
const NoMasterKeyHint = "no master key yet: register a gatekeeper (veil tx registry gatekeeper add)"

func (m *Module) instantiate(ctx *types.Context, sender types.AccountID, msg *contractsv1.MsgInstantiate) error {
	p := m.Params(ctx.Store)
	if len(msg.GetCodeHash()) != 32 {
		return types.Errf(types.CodeInvalidRequest, "code hash has %d bytes, want 32", len(msg.GetCodeHash()))
	}
	codeHash := [32]byte(msg.GetCodeHash())
	if len(msg.GetLabel()) > MaxLabelBytes {
		return types.Errf(types.CodeInvalidRequest, "label longer than %d bytes", MaxLabelBytes)
	}
	if len(msg.GetSalt()) > MaxSaltBytes {
		return types.Errf(types.CodeInvalidRequest, "salt longer than %d bytes", MaxSaltBytes)
	}
	if len(msg.GetInitArgs()) > p.MaxEnvelopeBytes {
		return types.Errf(types.CodeInvalidRequest, "init arguments have %d bytes, limit %d", len(msg.GetInitArgs()), p.MaxEnvelopeBytes)
	}
	replicas := msg.GetReplicas()
	if replicas == 0 {
		replicas = p.DefaultReplicas
	}
	if replicas > p.MaxReplicas {
		return errf(CodeInvalidReplicas, "%d replicas, at most %d", replicas, p.MaxReplicas)
	}
	if !ctx.Store.Has(CodeRecordKey(codeHash)) {
		return errf(CodeCodeNotFound, "no code %s (upload it first)", types.HexID(codeHash[:]))
	}
	epoch, ok := registry.LatestPublishedEpoch(ctx.Store)
	if !ok {
		return errf(CodeNoMasterKey, "%s", NoMasterKeyHint)
	}
	id := ContractID(sender, codeHash, msg.GetSalt())
	if ctx.Store.Has(ContractKey(id)) {
		return errf(CodeContractExists, "contract %s exists (choose another salt)", types.HexID(id[:]))
	}
	topic := mq.ContractTopic(id)
	if n := mq.NextSequence(ctx.Store, topic); n != 0 {
		// mq reserves contract topics for chain modules, so only a module
		// sending there out of turn can have filled it; the log must start
		// with the init.
		return errf(CodeContractTopicUsed, "topic %s already holds %d messages: choose another salt", topic, n)
	}
	workers, err := Assign(ctx.Store, ctx.Height, id, int(replicas), nil)
	if err != nil {
		return err
	}
	account := ContractAccount(id)
	rec := &contractsv1.ContractRecord{
		Id: id[:], CodeHash: codeHash[:], Deployer: sender[:], Salt: msg.GetSalt(), Account: account[:],
		Replicas: replicas, Label: msg.GetLabel(), InstantiatedAt: ctx.Height, KeyEpoch: epoch,
	}
	seq, err := m.send(ctx, topic, &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Init{
		Init: &contractsv1.Init{Deployer: sender[:], CodeHash: codeHash[:], Args: msg.GetInitArgs()}}})
	if err != nil {
		return err
	}
	if seq != 0 {
		return types.Errf(types.CodeInternal, "init of %s got sequence %d, want 0", types.HexID(id[:]), seq)
	}
	// setWorkers stores the record, indexes the workers and asks the
	// gatekeepers for the keys.
	if err := m.setWorkers(ctx, rec, workers, ReasonInstantiated); err != nil {
		return err
	}
	if ctx.Emitting() {
		ctx.Emit("contract_instantiated",
			types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "address", Value: ctx.Address(account)},
			types.Attr{Key: "code_hash", Value: types.HexID(codeHash[:])},
			types.Attr{Key: "deployer", Value: ctx.Address(sender)},
			types.Attr{Key: "key_epoch", Value: strconv.FormatUint(epoch, 10)},
			types.Attr{Key: "workers", Value: joinHex(workers)})
	}
	return nil
}

// requestKeys asks the gatekeepers to seal the contract's keys to workers.
func (m *Module) requestKeys(ctx *types.Context, rec *contractsv1.ContractRecord, workers [][]byte) error {
	req := &contractsv1.ContractKeyRequest{ContractId: rec.GetId(), Epoch: rec.GetKeyEpoch(), CodeHash: rec.GetCodeHash()}
	for _, w := range workers {
		wr := registry.Worker(ctx.Store, w)
		req.Workers = append(req.Workers, &contractsv1.AssignedWorker{Identity: w, HpkePublicKey: wr.GetHpkePublicKey()})
	}
	_, err := m.send(ctx, mq.TopicGatekeeper, &contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_ContractKeyRequest{ContractKeyRequest: req}})
	return err
}

func (m *Module) pushCommand(ctx *types.Context, sender types.AccountID, msg *contractsv1.MsgPushCommand) error {
	id, rec, err := contractArg(ctx.Store, msg.GetContractId())
	if err != nil {
		return err
	}
	if len(rec.GetHpkePublicKey()) == 0 {
		return errf(CodeKeysNotPublished, "contract keys not published yet: the gatekeepers have not answered for %s", types.HexID(id[:]))
	}
	env := msg.GetEnvelope()
	if max := m.Params(ctx.Store).MaxEnvelopeBytes; len(env) > max {
		return errf(CodeEnvelopeTooLarge, "envelope has %d bytes, limit %d", len(env), max)
	}
	if err := checkCommandEnvelope(env, rec.GetHpkePublicKey()); err != nil {
		return err
	}
	seq, err := m.send(ctx, mq.ContractTopic(id), &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Command{
		// tx_hash stays empty: types.Context does not carry the
		// transaction hash (clients find the transaction by the event).
		Command: &contractsv1.Command{Sender: sender[:], Envelope: env}}})
	if err != nil {
		return err
	}
	if ctx.Emitting() {
		ctx.Emit("contract_command", types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)},
			types.Attr{Key: "sender", Value: ctx.Address(sender)})
	}
	return nil
}

// checkCommandEnvelope applies the checks the chain can make without the
// contract's private key: the header parses (version, suite, encapsulated
// key length), it is a command, it is long enough to hold the
// encapsulated key and an AEAD tag, and it is sealed to the contract's
// published key (key id). Anything else fails at the workers, after the
// sender paid for its place in the log.
func checkCommandEnvelope(env, contractKey []byte) error {
	h, err := envelope.ParseHeader(env)
	switch {
	case errors.Is(err, envelope.ErrUnknownSuite):
		return errf(CodeUnknownEnvelopeSuite, "%v", err)
	case errors.Is(err, envelope.ErrWrongKind):
		return errf(CodeWrongEnvelopeKind, "%v", err)
	case err != nil:
		return errf(CodeInvalidEnvelope, "%v", err)
	}
	if h.Kind != envelope.KindCommand {
		return errf(CodeWrongEnvelopeKind, "envelope kind %v, want command", h.Kind)
	}
	const headerSize, tagSize = 18, 16
	if len(env) < headerSize+int(h.EncSize)+tagSize {
		return errf(CodeInvalidEnvelope, "envelope of %d bytes cannot hold its %d-byte encapsulated key and tag", len(env), h.EncSize)
	}
	fp := envelope.Fingerprint(contractKey)
	if !bytes.Equal(h.KeyID[:], fp[:envelope.KeyIDSize]) {
		return errf(CodeWrongContractKey, "envelope is sealed to key %x, the contract's key is %x", h.KeyID, fp[:envelope.KeyIDSize])
	}
	return nil
}

func (m *Module) deposit(ctx *types.Context, sender types.AccountID, msg *contractsv1.MsgDeposit) error {
	amount, err := types.ParseAmount(msg.GetAmount())
	if err != nil {
		return types.Errf(types.CodeInvalidAmount, "deposit amount: %v", err)
	}
	n, fits := amount.Uint64()
	if amount.IsZero() || !fits {
		return types.Errf(types.CodeInvalidAmount, "deposit must be 1..%d planck, got %s", uint64(1<<64-1), amount)
	}
	id, rec, err := contractArg(ctx.Store, msg.GetContractId())
	if err != nil {
		return err
	}
	if err := m.bank.Transfer(ctx, sender, types.AccountID(rec.GetAccount()), amount); err != nil {
		return err
	}
	seq, err := m.send(ctx, mq.ContractTopic(id), &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_ChainCall{
		ChainCall: &contractsv1.ChainCall{Caller: sender[:], Method: "deposit", Args: fmt.Appendf(nil, `{"amount":%d}`, n)}}})
	if err != nil {
		return err
	}
	if ctx.Emitting() {
		ctx.Emit("contract_deposit", types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)},
			types.Attr{Key: "sender", Value: ctx.Address(sender)},
			types.Attr{Key: "amount", Value: amount.String()})
	}
	return nil
}

func (m *Module) reassign(ctx *types.Context, sender types.AccountID, msg *contractsv1.MsgReassign) error {
	id, rec, err := contractArg(ctx.Store, msg.GetContractId())
	if err != nil {
		return err
	}
	if !bytes.Equal(rec.GetDeployer(), sender[:]) {
		if err := sudo.Require(ctx, sender, "reassigning another deployer's contract"); err != nil {
			return err
		}
	}
	next, err := Assign(ctx.Store, ctx.Height, id, int(rec.GetReplicas()), rec.GetWorkers())
	if err != nil {
		return err
	}
	if sameWorkers(next, rec.GetWorkers()) {
		return errf(CodeAssignmentUnchanged, "every assigned worker of %s is eligible", types.HexID(id[:]))
	}
	return m.setWorkers(ctx, rec, next, ReasonReassigned)
}

func joinHex(ws [][]byte) string { return strings.Join(hexList(ws), ",") }
