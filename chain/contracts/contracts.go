// Package contracts is the chain side of confidential contracts (Phala's
// pallet phat): code upload, instantiation and worker assignment, the
// contracts' ordered command logs, deposits, and what workers and
// gatekeepers report back (contract keys, state roots, contract egress).
//
// The chain never sees a contract's secrets: it stores public code,
// orders sealed commands on the mq topic "contract/<hex id>" (sequence 0
// is always the init), asks the gatekeepers (topic "gatekeeper") for the
// contract's keys, forwards their sealed deliveries to the assigned
// workers' topics, and pays out transfers the contract signed with its
// signing key. The wire format is proto/veil/contracts/v1.
//
// State (deterministic protobuf unless noted, all provable):
//
//	contracts/params                         JSON Params
//	contracts/code/<sha256>                  the raw wasm module (CodeKey)
//	contracts/coderec/<sha256>               CodeRecord
//	contracts/contract/<id>                  ContractRecord
//	contracts/root/<id><u64be sequence>      StateRootRecord (first report)
//	contracts/delivered/<id><worker><u64be epoch>  empty: key delivery
//	                                         forwarded (once each)
//
// Egress topics (mq, signed by a worker identity): "contracts/keys"
// (ContractKeyPublication, gatekeepers), "contracts/state" (StateReport,
// assigned workers), "contracts/egress" (SignedContractEgress, assigned
// workers, signed by the contract). Ids in events and queries are
// 0x-prefixed lower-case hex; inputs accept hex with or without 0x.
package contracts

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// Name is the module name and state prefix.
const Name = "contracts"

// Fee weights (units of auth's fee_per_message), on top of auth's
// per-byte fee, which already prices an upload's bytes. Inflating,
// validating and instrumenting the hello-world Go contract (3.5 MB, 1 MB
// gzipped) took 130–160 ms on the 2-core development VM, thousands of
// transfers' worth, in CheckTx and again in the block; an instantiation
// or a reassignment walks the worker set and sends several mq messages.
const (
	UploadWeight      = 5000
	InstantiateWeight = 20
	CommandWeight     = 2
	DepositWeight     = 3
	ReassignWeight    = 20
)

// Limits that are not parameters.
const (
	// MaxLabelBytes bounds MsgInstantiate.label (proto comment).
	MaxLabelBytes = 64
	// MaxSaltBytes bounds MsgInstantiate.salt.
	MaxSaltBytes = 64
	// MaxHistory bounds a contract's assignment history: the oldest
	// entries are dropped so the record (read by every command) stays
	// small however often it is reassigned.
	MaxHistory = 32
	// MaxTransfers bounds the transfers of one contract egress.
	MaxTransfers = 64
)

// Domain strings of the derivations the proto fixes.
const (
	ContractIDDomain      = "veil/contract-id/v1\x00"
	ContractAccountDomain = "veil/contract-account/v1\x00"
	// EgressDomain prefixes the bytes a contract's signing key signs for
	// contract egress (SignedContractEgress.body).
	EgressDomain = "veil/contract-egress/v1\x00"
)

var (
	keyParams       = []byte("contracts/params")
	prefixCode      = []byte("contracts/code/")
	prefixCodeRec   = []byte("contracts/coderec/")
	prefixContract  = []byte("contracts/contract/")
	prefixRoot      = []byte("contracts/root/")
	prefixDelivered = []byte("contracts/delivered/")
)

func key(prefix []byte, parts ...[]byte) []byte {
	k := append([]byte{}, prefix...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// CodeKey is the provable state key of a stored module's raw bytes (read
// them with the node's QueryState).
func CodeKey(hash [32]byte) []byte { return key(prefixCode, hash[:]) }

// CodeRecordKey is the state key of a stored module's CodeRecord.
func CodeRecordKey(hash [32]byte) []byte { return key(prefixCodeRec, hash[:]) }

// ContractKey is the provable state key of a ContractRecord.
func ContractKey(id [32]byte) []byte { return key(prefixContract, id[:]) }

// RootKey is the state key of the first state root reported for (id,
// sequence).
func RootKey(id [32]byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(key(prefixRoot, id[:]), seq)
}

func deliveredKey(id [32]byte, worker []byte, epoch uint64) []byte {
	return binary.BigEndian.AppendUint64(key(prefixDelivered, id[:], worker), epoch)
}

// ContractID is SHA-256("veil/contract-id/v1\0" || deployer || code_hash ||
// salt): a deployer chooses the salt, so ids are predictable before
// instantiation and distinct per deployer.
func ContractID(deployer types.AccountID, codeHash [32]byte, salt []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(ContractIDDomain))
	h.Write(deployer[:])
	h.Write(codeHash[:])
	h.Write(salt)
	return [32]byte(h.Sum(nil))
}

// ContractAccount is the contract's on-chain account,
// SHA-256("veil/contract-account/v1\0" || id). Nobody holds a key for it:
// only deposits fill it and only contract egress the contract signed
// empties it.
func ContractAccount(id [32]byte) types.AccountID {
	return types.AccountID(sha256.Sum256(append([]byte(ContractAccountDomain), id[:]...)))
}

// EgressSigningBytes is what the contract's signing key signs for a
// contract egress body (deterministic protobuf ContractEgress).
func EgressSigningBytes(body []byte) []byte {
	return append([]byte(EgressDomain), body...)
}

// Module implements types.Module, types.Querier and mq.EgressHandler.
type Module struct {
	// ParamsModule provides Params, SetParams and the genesis methods.
	types.ParamsModule[Params, paramsSpec]
	bank   *bank.Module
	sender mq.Sender
}

// New returns the module; bank moves deposits and payouts, sender is the
// message queue.
func New(b *bank.Module, s mq.Sender) *Module { return &Module{bank: b, sender: s} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// Genesis is the module's genesis section.
type Genesis = types.ParamsGenesis[Params]

// paramsSpec places the parameters under keyParams, with DefaultParams as
// the defaults of an empty genesis section (types.ParamsModule).
type paramsSpec struct{}

func (paramsSpec) Name() string     { return Name }
func (paramsSpec) Key() []byte      { return keyParams }
func (paramsSpec) Defaults() Params { return DefaultParams() }

// RegisterMessages implements types.Module.
func (m *Module) RegisterMessages(r *types.Router) {
	types.Handle(r, UploadWeight, m.uploadCode)
	types.Handle(r, InstantiateWeight, m.instantiate)
	types.Handle(r, CommandWeight, m.pushCommand)
	types.Handle(r, DepositWeight, m.deposit)
	types.Handle(r, ReassignWeight, m.reassign)
}

// origin is the mq origin of every message the module sends.
var origin = mq.ModuleOrigin(Name)

// send enqueues a deterministic-protobuf message and returns its sequence.
func (m *Module) send(ctx *types.Context, topic string, msg proto.Message) (uint64, error) {
	if m.sender == nil {
		return 0, errf(CodeNoMessageQueue, "the contracts module has no message queue")
	}
	return mq.SendProto(ctx, m.sender, origin, topic, msg)
}

// Code reads a CodeRecord (nil if the code is not stored).
func Code(s types.KVStore, hash [32]byte) *contractsv1.CodeRecord {
	r := &contractsv1.CodeRecord{}
	if !types.GetProto(s, CodeRecordKey(hash), r) {
		return nil
	}
	return r
}

// Contract reads a ContractRecord (nil if absent).
func Contract(s types.KVStore, id [32]byte) *contractsv1.ContractRecord {
	r := &contractsv1.ContractRecord{}
	if !types.GetProto(s, ContractKey(id), r) {
		return nil
	}
	return r
}

func putContract(s types.KVStore, r *contractsv1.ContractRecord) {
	types.SetProto(s, ContractKey([32]byte(r.GetId())), r)
}

// contractArg checks a 32-byte contract id and loads its record.
func contractArg(s types.KVStore, b []byte) ([32]byte, *contractsv1.ContractRecord, error) {
	if len(b) != 32 {
		return [32]byte{}, nil, types.Errf(types.CodeInvalidRequest, "contract id has %d bytes, want 32", len(b))
	}
	id := [32]byte(b)
	r := Contract(s, id)
	if r == nil {
		return id, nil, errf(CodeContractNotFound, "no contract %s", types.HexID(id[:]))
	}
	return id, r, nil
}

func isAssigned(r *contractsv1.ContractRecord, worker []byte) bool {
	return contains(r.GetWorkers(), worker)
}

func contains(list [][]byte, w []byte) bool {
	return slices.ContainsFunc(list, func(x []byte) bool { return bytes.Equal(x, w) })
}
