// Package compute is the computation economics (Phala's pallets
// computation and stake_pool_v2): operators bind registered workers, lock
// stake and start computing; the chain challenges computing workers with
// heartbeats drawn from the block randomness, pays responsive ones a share
// of a per-block reward, slashes silent ones, and stake pools let
// delegators fund workers and share their rewards. docs/compute.md is the
// specification.
//
// Every per-block cost is independent of the number of workers: a dense
// index of active workers makes a heartbeat draw O(1), the deadline index
// is visited only up to the current height, and rewards use a global
// accumulator (a worker's reward is settled when its share changes).
//
// State (deterministic protobuf unless noted, all provable):
//
//	compute/params                        JSON Params
//	compute/global                        fixed binary globals (totals, accumulator)
//	compute/worker/<id>                   ComputeWorker
//	compute/score/<id>                    u64be score ‖ i64be height (last benchmark)
//	compute/active/i/<u64be index>        identity (dense index of active workers)
//	compute/active/p/<id>                 u64be index
//	compute/computing/<id>                u128 stake: Computing workers, by identity
//	compute/deadline/<u64be height><id>   empty: open challenge due at height
//	compute/reclaim/<u64be height><id>    empty: forced stop to reclaim at height
//	compute/pool/<u64be id>               Pool
//	compute/next_pool                     u64be next pool id
//	compute/shares/<account><u64be pool>  u128 shares held
//	compute/queued/<u64be pool>           empty: pool with a withdraw queue
//
// Egress topics (mq, signed by a registered worker): "compute/benchmark"
// (BenchmarkReport) and "compute/heartbeat" (HeartbeatAnswer).
package compute

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// Name is the module name and state prefix.
const Name = "compute"

// Egress topics the module receives.
const (
	TopicBenchmark = Name + "/benchmark"
	TopicHeartbeat = Name + "/heartbeat"
)

// Domain strings of the hashes drawn from the block randomness.
const (
	HeartbeatDomain = "veil/compute/heartbeat/v1"
	DrawDomain      = "veil/compute/draw/v1"
	ExtraDrawDomain = "veil/compute/draw-extra/v1"
)

// Fee weights (units of auth's fee_per_message). Stopping calls the
// scheduling hook, which queues the worker's contracts for a redraw in
// the block's EndBlock (priced as contracts' MsgReassign); the others
// touch a handful of keys.
const (
	BindWeight       = 2
	StartWeight      = 3
	StopWeight       = 20
	ReclaimWeight    = 2
	CreatePoolWeight = 2
	AddWorkerWeight  = 2
	ContributeWeight = 3
	WithdrawWeight   = 3
)

// Per-block work bounds: whatever the state, one block does at most this
// much compute bookkeeping. Work beyond a bound waits for later blocks.
const (
	// MaxChallengesPerBlock bounds heartbeat draws per block.
	MaxChallengesPerBlock = 1000
	// MaxDeadlinesPerBlock bounds the deadline sweep, oldest first.
	MaxDeadlinesPerBlock = 1000
	// MaxReclaimsPerBlock bounds automatic reclaims of forced stops.
	MaxReclaimsPerBlock = 64
	// MaxQueuedPoolsPerBlock bounds the pools whose withdraw queues one
	// block serves (round robin).
	MaxQueuedPoolsPerBlock = 16
	// MaxWithdrawQueue bounds the accounts waiting in one pool's queue
	// (one entry per account), so the pool record stays small.
	MaxWithdrawQueue = 256
)

var (
	keyParams       = []byte("compute/params")
	keyGlobal       = []byte("compute/global")
	keyNextPool     = []byte("compute/next_pool")
	prefixWorker    = []byte("compute/worker/")
	prefixScore     = []byte("compute/score/")
	prefixActiveIdx = []byte("compute/active/i/")
	prefixActivePos = []byte("compute/active/p/")
	prefixComputing = []byte("compute/computing/")
	prefixDeadline  = []byte("compute/deadline/")
	prefixReclaim   = []byte("compute/reclaim/")
	prefixPool      = []byte("compute/pool/")
	prefixShares    = []byte("compute/shares/")
	prefixQueued    = []byte("compute/queued/")
	keyQueueCursor  = []byte("compute/queue_cursor")
)

// PotAccount holds minted worker rewards until they are settled.
var PotAccount = types.ModuleAccount("compute/rewards")

// PoolAccount is pool id's on-chain account: free balance = unstaked
// funds, reserved = its workers' stakes. Nobody holds a key for it.
func PoolAccount(id uint64) types.AccountID {
	return types.ModuleAccount(fmt.Sprintf("compute/pool/%d", id))
}

func key(prefix []byte, parts ...[]byte) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	k := append(make([]byte, 0, n), prefix...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// WorkerKey is the provable state key of a worker's compute record.
func WorkerKey(identity []byte) []byte { return key(prefixWorker, identity) }

// PoolKey is the provable state key of a pool.
func PoolKey(id uint64) []byte { return key(prefixPool, u64(id)) }

// SharesKey is the provable state key of account's shares in pool id.
func SharesKey(account types.AccountID, id uint64) []byte {
	return key(prefixShares, account[:], u64(id))
}

func scoreKey(identity []byte) []byte     { return key(prefixScore, identity) }
func computingKey(identity []byte) []byte { return key(prefixComputing, identity) }
func deadlineKey(h int64, identity []byte) []byte {
	return key(prefixDeadline, u64(uint64(h)), identity)
}
func reclaimKey(h int64, identity []byte) []byte {
	return key(prefixReclaim, u64(uint64(h)), identity)
}

// Module implements types.Module, types.BeginBlocker, types.EndBlocker,
// types.Querier and mq.EgressHandler.
type Module struct {
	// ParamsModule provides Params, SetParams and the genesis methods.
	types.ParamsModule[Params, paramsSpec]
	bank   *bank.Module
	sender mq.Sender
	// ineligible is the scheduler's hook (SetIneligibleHook); set while
	// wiring modules, read-only afterwards.
	ineligible func(ctx *types.Context, worker []byte) error
}

// New returns the module; bank holds stakes and pays rewards, sender is the
// message queue (heartbeat challenges go to the workers' topics).
func New(b *bank.Module, s mq.Sender) *Module { return &Module{bank: b, sender: s} }

// SetIneligibleHook installs fn, called whenever a worker stops being
// eligible for contracts: Computing → Unresponsive (a missed heartbeat), a
// stop, a forced stop. It runs in its own cache: an error discards its
// writes and is announced (event "ineligible_hook_failed") but never blocks
// the transition, since a worker must be able to stop whatever the
// scheduler thinks. Called while wiring modules, before the chain runs.
func (m *Module) SetIneligibleHook(fn func(ctx *types.Context, worker []byte) error) {
	m.ineligible = fn
}

func (m *Module) notifyIneligible(ctx *types.Context, worker []byte) {
	if m.ineligible == nil {
		return
	}
	sub := store.NewCache(ctx.Store)
	hctx := ctx.WithStore(sub)
	if err := m.ineligible(hctx, worker); err != nil {
		if ctx.Emitting() {
			ctx.Emit("ineligible_hook_failed", types.Attr{Key: "worker", Value: types.HexID(worker)},
				types.Attr{Key: "error", Value: err.Error()})
		}
		return
	}
	sub.Write()
	ctx.AppendEvents(hctx.Events())
}

// Name implements types.Module.
func (*Module) Name() string { return Name }

// Genesis is the module's genesis section. Workers bind after genesis (they
// must register first), so only parameters are set.
type Genesis = types.ParamsGenesis[Params]

// paramsSpec places the parameters under keyParams, with DefaultParams as
// the defaults of an empty genesis section (types.ParamsModule).
type paramsSpec struct{}

func (paramsSpec) Name() string     { return Name }
func (paramsSpec) Key() []byte      { return keyParams }
func (paramsSpec) Defaults() Params { return DefaultParams() }

// RegisterMessages implements types.Module.
func (m *Module) RegisterMessages(r *types.Router) {
	types.Handle(r, BindWeight, m.bind)
	types.Handle(r, StartWeight, m.startComputing)
	types.Handle(r, StopWeight, m.stopComputing)
	types.Handle(r, ReclaimWeight, m.reclaim)
	types.Handle(r, CreatePoolWeight, m.createPool)
	types.Handle(r, AddWorkerWeight, m.addWorker)
	types.Handle(r, ContributeWeight, m.contribute)
	types.Handle(r, WithdrawWeight, m.withdraw)
}

// origin is the mq origin of every message the module sends.
var origin = mq.ModuleOrigin(Name)

func (m *Module) send(ctx *types.Context, topic string, msg proto.Message) (uint64, error) {
	if m.sender == nil {
		return 0, errf(CodeNoMessageQueue, "the compute module has no message queue")
	}
	return mq.SendProto(ctx, m.sender, origin, topic, msg)
}

// Worker reads a worker's compute record (nil if not bound).
func Worker(s types.KVStore, identity []byte) *computev1.ComputeWorker {
	w := &computev1.ComputeWorker{}
	if !types.GetProto(s, WorkerKey(identity), w) {
		return nil
	}
	return w
}

func putWorker(s types.KVStore, w *computev1.ComputeWorker) {
	types.SetProto(s, WorkerKey(w.GetIdentity()), w)
}

// Pool reads a pool (nil if absent).
func Pool(s types.KVStore, id uint64) *computev1.Pool {
	p := &computev1.Pool{}
	if !types.GetProto(s, PoolKey(id), p) {
		return nil
	}
	return p
}

func putPool(s types.KVStore, p *computev1.Pool) { types.SetProto(s, PoolKey(p.GetId()), p) }

// Score reads the last benchmark score a worker reported and its height
// (0, 0 if none); it is kept whether or not the worker is bound.
func Score(s types.KVStore, identity []byte) (score uint64, height int64) {
	v := s.Get(scoreKey(identity))
	if len(v) != 16 {
		return 0, 0
	}
	return binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:]))
}

// globals are the module's totals, read and written as one fixed binary
// record: every block reads them, most handlers update them.
type globals struct {
	// TotalShare is Σ share of Computing workers.
	TotalShare types.Amount
	// Acc is the reward accumulator (per share unit, × RewardScale,
	// modulo 2^128).
	Acc types.Amount
	// Carry is the undistributed remainder of the last accumulator step,
	// in reward units × RewardScale (always < TotalShare at that step).
	Carry types.Amount
	// TotalStake is Σ stake of bound workers.
	TotalStake types.Amount
	// Active counts Computing + Unresponsive workers (the dense index).
	Active uint64
	// Computing counts Computing workers.
	Computing uint64
}

const globalsSize = 4*16 + 2*8

func loadGlobals(s types.KVStore) globals {
	v := s.Get(keyGlobal)
	var g globals
	if v == nil {
		return g
	}
	if len(v) != globalsSize {
		panic(&types.StoreFailure{Err: fmt.Errorf("compute globals have %d bytes, want %d", len(v), globalsSize)})
	}
	g.TotalShare, _ = types.AmountFromBytes(v[0:16])
	g.Acc, _ = types.AmountFromBytes(v[16:32])
	g.Carry, _ = types.AmountFromBytes(v[32:48])
	g.TotalStake, _ = types.AmountFromBytes(v[48:64])
	g.Active = binary.BigEndian.Uint64(v[64:72])
	g.Computing = binary.BigEndian.Uint64(v[72:80])
	return g
}

func saveGlobals(s types.KVStore, g globals) {
	b := make([]byte, 0, globalsSize)
	b = append(b, g.TotalShare.Bytes()...)
	b = append(b, g.Acc.Bytes()...)
	b = append(b, g.Carry.Bytes()...)
	b = append(b, g.TotalStake.Bytes()...)
	b = binary.BigEndian.AppendUint64(b, g.Active)
	b = binary.BigEndian.AppendUint64(b, g.Computing)
	s.Set(keyGlobal, b)
}

// workerArg checks a 32-byte identity and loads its compute record.
func workerArg(s types.KVStore, id []byte) (*computev1.ComputeWorker, error) {
	if len(id) != 32 {
		return nil, types.Errf(types.CodeInvalidRequest, "worker identity has %d bytes, want 32", len(id))
	}
	w := Worker(s, id)
	if w == nil {
		return nil, errf(CodeNotBound, "worker %s is not bound", types.HexID(id))
	}
	return w, nil
}

// stakeAccount is where a worker's stake is reserved and its rewards go:
// the operator's account, or its pool's.
func stakeAccount(w *computev1.ComputeWorker) types.AccountID {
	if w.GetPoolId() != 0 {
		return PoolAccount(w.GetPoolId())
	}
	return types.AccountID(w.GetOperator())
}
