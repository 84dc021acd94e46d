// Package app is Veil's ABCI 2.0 application: a deterministic state machine
// that CometBFT drives. It owns the state tree, routes transaction messages
// to modules, and publishes committed blocks to in-process subscribers (the
// node's API).
package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/internal/fifoset"
)

// Version is the application's software version, reported in Info.
const Version = "0.1.0"

// AppVersion is the state machine's protocol version.
const AppVersion = 1

var (
	keyChainParams = []byte("app/chain_params")
	keyLastBlock   = []byte("app/last_block_time")
)

// Config configures an App.
type Config struct {
	// DataDir holds the state tree (DataDir/state.db).
	DataDir string
	Store   store.Options
	Logger  *slog.Logger
	// ConsensusKey is this node's CometBFT ed25519 consensus private key
	// (64 bytes: seed ‖ public key, privval's FilePV form), with which it
	// proves the block randomness of the blocks it proposes. Nil on nodes
	// that never propose; a validator without it proposes blocks every
	// other validator rejects.
	ConsensusKey []byte
}

// App implements abci.Application.
type App struct {
	abci.BaseApplication

	log     *slog.Logger
	tree    *store.Tree
	modules []types.Module
	router  *types.Router
	Bank    *bank.Module
	Auth    *auth.Module
	// Randomness verifies and records every block's VRF randomness.
	Randomness *randomness.Module
	// vrfKey proves the randomness of the blocks this node proposes (nil
	// without Config.ConsensusKey).
	vrfKey *randomness.Key

	chainID     string
	params      ChainParams
	genesisHash [32]byte

	// pending is the block being executed between FinalizeBlock and Commit.
	pending *BlockResult

	// checkMu guards the mempool's view of state: the committed state plus
	// the effects (nonces, fees, transfers) of transactions accepted since.
	checkMu    sync.Mutex
	checkState *store.Cache
	inMempool  map[[32]byte]struct{}
	// checkTime is LastBlockTime of the committed state checkState rests
	// on, read once per commit instead of once per CheckTx.
	checkTime time.Time
	// checkAuth is the auth parameters of that committed version, read
	// once per commit (see committedAuthParams).
	checkAuth atomic.Pointer[versionedAuth]

	// sigs holds hashes of transactions whose signatures this node
	// verified: a block's transactions that passed our CheckTx need no
	// second check.
	sigs *fifoset.Set
	subs *broadcaster
}

// New opens the state in cfg.DataDir and assembles the modules.
func New(cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tree, err := store.Open(cfg.DataDir, cfg.Store, log)
	if err != nil {
		return nil, err
	}
	var vrfKey *randomness.Key
	if cfg.ConsensusKey != nil {
		if vrfKey, err = randomness.NewKey(cfg.ConsensusKey); err != nil {
			tree.Close()
			return nil, fmt.Errorf("consensus key: %w", err)
		}
	}
	ms := NewModuleSet()
	a := &App{
		log:       log,
		tree:      tree,
		Bank:      ms.Bank,
		Auth:      ms.Auth,
		modules:   ms.Modules,
		router:    types.NewRouter(),
		inMempool: make(map[[32]byte]struct{}),
		sigs:      fifoset.New(200_000),
		subs:      newBroadcaster(),
	}
	a.Randomness, a.vrfKey = ms.Randomness, vrfKey
	for _, m := range a.modules {
		m.RegisterMessages(a.router)
	}
	if tree.Version() > 0 {
		if err := a.loadChainParams(); err != nil {
			tree.Close()
			return nil, err
		}
	}
	a.resetCheckState()
	return a, nil
}

// ModuleSet is the chain's modules, wired to each other. Adding a module
// means adding it here; the core never changes.
type ModuleSet struct {
	Bank      *bank.Module
	Auth      *auth.Module
	Staking   *staking.Module
	MQ        *mq.Module
	Contracts *contracts.Module
	Compute   *compute.Module
	// Randomness is not called through BeginBlock: the app applies the
	// block's proof before any module's BeginBlock (see FinalizeBlock).
	Randomness *randomness.Module
	Modules    []types.Module
}

// NewModuleSet builds the modules in execution order (BeginBlock/EndBlock
// run in this order; genesis initialises in this order).
func NewModuleSet() *ModuleSet {
	b := bank.New()
	a := auth.New(b)
	st := staking.New(b)
	reg := registry.New()
	q := mq.New()
	// Egress is accepted from registered, non-stale workers only, and the
	// registry receives the "registry/..." egress topics (sync reports,
	// gatekeepers' master keys); it talks to gatekeepers through mq.
	q.SetEgressSenders(reg)
	q.HandleEgress(registry.Name, reg)
	reg.SetSender(q)
	// Contracts: code, instances, command logs on mq, and the
	// "contracts/..." egress (contract keys, state roots, payouts).
	c := contracts.New(b, q)
	q.HandleEgress(contracts.Name, c)
	// Compute: worker staking, heartbeats (challenges on mq, answers on
	// "compute/..." egress), rewards and pools. A worker that stops being
	// eligible (unresponsive, stopped) or whose attestation expires is
	// replaced on its contracts in the same block (contracts' EndBlock,
	// which runs after compute's and the registry's).
	cm := compute.New(b, q)
	q.HandleEgress(compute.Name, cm)
	cm.SetIneligibleHook(c.WorkerLost)
	reg.SetStaleHook(c.WorkerLost)
	rnd := randomness.New()
	return &ModuleSet{Bank: b, Auth: a, Staking: st, MQ: q, Contracts: c, Compute: cm, Randomness: rnd,
		Modules: []types.Module{a, b, sudo.New(), reg, st, q, cm, c, rnd}}
}

// Modules lists the application's modules in execution order.
func (a *App) Modules() []types.Module { return a.modules }

// Router resolves message types (used by clients to decode transactions).
func (a *App) Router() *types.Router { return a.router }

// Close releases the state database.
func (a *App) Close() error { return a.tree.Close() }

// ChainID is the chain id learned at InitChain (or from state on restart).
func (a *App) ChainID() string { return a.chainID }

// ChainParams returns the genesis chain parameters.
func (a *App) ChainParams() ChainParams { return a.params }

// Tree exposes the state tree for proven queries.
func (a *App) Tree() *store.Tree { return a.tree }

func (a *App) loadChainParams() error {
	raw := a.tree.Committed().Get(keyChainParams)
	var st chainState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("read chain parameters from state: %w", err)
	}
	a.chainID, a.params, a.genesisHash = st.ChainID, st.Params, st.GenesisHash
	return nil
}

// chainState is what the app stores about the chain itself.
type chainState struct {
	ChainID     string      `json:"chain_id"`
	Params      ChainParams `json:"params"`
	GenesisHash [32]byte    `json:"genesis_hash"`
}

// GenesisHash is the chain's genesis hash (see GenesisHash).
func (a *App) GenesisHash() [32]byte { return a.genesisHash }

// LastBlockTime is the time of the latest committed block: CheckTx judges
// time-dependent validity (attestation collateral) against it.
func (a *App) LastBlockTime() time.Time {
	var t time.Time
	if b := a.tree.Committed().Get(keyLastBlock); b != nil {
		_ = t.UnmarshalBinary(b)
	}
	return t
}

func (a *App) newContext(s types.KVStore, height int64, t time.Time) *types.Context {
	return &types.Context{Store: s, ChainID: a.chainID, GenesisHash: a.genesisHash, Height: height, Time: t, SS58Prefix: a.params.SS58Prefix}
}

// Info tells CometBFT where the application's state is, so a restarted
// node replays only the blocks the app has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	resp := &abci.ResponseInfo{Data: "veil", Version: Version, AppVersion: AppVersion}
	if v := a.tree.Version(); v > 0 {
		resp.LastBlockHeight = v
		resp.LastBlockAppHash = a.tree.Hash()
	}
	return resp, nil
}

// InitChain writes the genesis state. The writes join block 1's version
// of the tree; the returned hash becomes block 1's header app hash.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (resp *abci.ResponseInitChain, err error) {
	defer recoverStoreFailure(&err)
	params, gen, err := ParseGenesis(req.AppStateBytes, a.modules)
	if err != nil {
		return nil, fmt.Errorf("invalid genesis: %w", err)
	}
	if req.ChainId == "" {
		return nil, errors.New("invalid genesis: empty chain id")
	}
	a.chainID, a.params = req.ChainId, params
	a.genesisHash = GenesisHash(req.ChainId, req.InitialHeight, req.Time, req.AppStateBytes)
	cache := store.NewCache(a.tree.Working())
	var valUpdates []types.ValidatorUpdate
	ctx := a.newContext(cache, req.InitialHeight, req.Time).WithValidatorUpdates(&valUpdates)
	st, _ := json.Marshal(chainState{a.chainID, params, a.genesisHash})
	cache.Set(keyChainParams, st)
	for _, m := range a.modules {
		if err := m.InitGenesis(ctx, gen[m.Name()]); err != nil {
			return nil, fmt.Errorf("init genesis of %s: %w", m.Name(), err)
		}
	}
	// The first proposer must be resolvable from its address: register
	// genesis.json's validators and the set a module returned instead.
	genVals, err := fromABCIValidatorUpdates(req.Validators)
	if err != nil {
		return nil, fmt.Errorf("invalid genesis: %w", err)
	}
	randomness.RecordKeys(cache, genVals)
	randomness.RecordKeys(cache, valUpdates)
	cache.Write()
	a.log.Info("chain initialised", "chain_id", a.chainID, "ss58_prefix", params.SS58Prefix)
	// An empty list keeps genesis.json's validators; a module that owns the
	// validator set (staking) replaces them with its own.
	return &abci.ResponseInitChain{AppHash: a.tree.WorkingHash(), Validators: toABCIValidatorUpdates(valUpdates)}, nil
}

// recoverStoreFailure turns a store backend failure into an error that
// halts the node instead of crashing the process mid-write.
func recoverStoreFailure(err *error) {
	if r := recover(); r != nil {
		if f, ok := r.(*types.StoreFailure); ok {
			*err = f
			return
		}
		panic(r)
	}
}

// proposalState is the state the proposed block will execute on: the
// last committed block's, or at the initial height the genesis writes,
// which join block 1's version and are not committed yet. Proposals are
// handled on the consensus connection between Commit and FinalizeBlock,
// so the working tree holds exactly that; the cache keeps it read-only.
func (a *App) proposalState() types.KVStore { return store.NewCache(a.tree.Working()) }

// blockTxSize is what a transaction adds to the block's data as CometBFT
// measures it against MaxTxBytes (types.Txs.Validate): its bytes plus
// their protobuf field tag and length.
func blockTxSize(tx []byte) int64 {
	return int64(1 + protowire.SizeVarint(uint64(len(tx))) + len(tx))
}

// PrepareProposal puts this proposer's randomness proof first, then
// mempool transactions up to the block byte limit.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (resp *abci.ResponsePrepareProposal, err error) {
	defer recoverStoreFailure(&err)
	var total int64
	txs := make([][]byte, 0, len(req.Txs)+1)
	if proof := a.proveProposal(req.Height, req.ProposerAddress); proof != nil {
		if n := blockTxSize(proof); n <= req.MaxTxBytes {
			total += n
			txs = append(txs, proof)
		} else {
			a.log.Error("proposing without a randomness proof: it does not fit the block", "height", req.Height, "max_tx_bytes", req.MaxTxBytes)
		}
	}
	for _, tx := range req.Txs {
		if randomness.IsProofTx(tx) {
			continue // CheckTx refuses them; never propose a second one
		}
		n := blockTxSize(tx)
		if total+n > req.MaxTxBytes {
			break
		}
		total += n
		txs = append(txs, tx)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// proveProposal builds the proof transaction of the block this node
// proposes at height, or returns nil (logged) when it cannot: without the
// proposer's consensus key the block goes out without a proof, every
// validator rejects it, and the round passes to the next proposer, which
// is the right outcome for a misconfigured node.
func (a *App) proveProposal(height int64, proposer []byte) []byte {
	if a.vrfKey == nil {
		a.log.Error("proposing without a randomness proof: no consensus key configured; validators will reject the block", "height", height)
		return nil
	}
	if !bytes.Equal(a.vrfKey.Address(), proposer) {
		a.log.Error("proposing without a randomness proof: the configured consensus key is not the proposer's; validators will reject the block",
			"height", height, "key", a.vrfKey, "proposer", fmt.Sprintf("%X", proposer))
		return nil
	}
	raw, err := randomness.Prove(a.proposalState(), a.chainID, a.genesisHash, height, a.vrfKey)
	if err != nil {
		a.log.Error("proposing without a randomness proof", "height", height, "err", err)
		return nil
	}
	return raw
}

// ProcessProposal rejects a proposal unless its first transaction is the
// proposer's valid randomness proof for this height, and no other
// transaction is one. Everything else is accepted: invalid transactions
// in a block fail individually in FinalizeBlock and cost their senders
// nothing.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (resp *abci.ResponseProcessProposal, err error) {
	defer recoverStoreFailure(&err)
	reject := func(reason error) (*abci.ResponseProcessProposal, error) {
		a.log.Warn("rejecting proposal", "height", req.Height, "proposer", fmt.Sprintf("%X", req.ProposerAddress), "err", reason)
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	var first []byte
	if len(req.Txs) > 0 {
		first = req.Txs[0]
	}
	if _, err := randomness.Verify(a.proposalState(), a.chainID, a.genesisHash, req.Height, req.ProposerAddress, first); err != nil {
		return reject(err)
	}
	for i := 1; i < len(req.Txs); i++ {
		if randomness.IsProofTx(req.Txs[i]) {
			return reject(randomness.MisplacedError(i))
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// QueryModule runs a module's read-only query against the latest
// committed state.
func (a *App) QueryModule(module, path string, args []byte) (result []byte, height int64, err error) {
	defer recoverStoreFailure(&err)
	for _, m := range a.modules {
		if m.Name() != module {
			continue
		}
		q, ok := m.(types.Querier)
		if !ok {
			return nil, 0, types.Errf(types.CodeInvalidRequest, "module %q has no queries", module)
		}
		height = a.tree.Version()
		ctx := a.newContext(a.tree.Committed(), height, time.Time{})
		v, err := q.Query(ctx, path, args)
		if err != nil {
			return nil, height, err
		}
		b, err := json.Marshal(v)
		return b, height, err
	}
	return nil, 0, types.Errf(types.CodeNotFound, "no module %q", module)
}

// Query serves "/store" (raw key, optional ICS23 proof) for CometBFT RPC
// users; the Connect API reads the tree directly.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	switch req.Path {
	case "/store", "store":
		p, err := a.tree.GetProven(req.Data, req.Height, req.Prove)
		if err != nil {
			return &abci.ResponseQuery{Code: uint32(types.CodeNotFound), Codespace: types.Codespace, Log: err.Error()}, nil
		}
		resp := &abci.ResponseQuery{Key: req.Data, Value: p.Value, Height: p.Version}
		if p.Proof != nil {
			b, err := p.Proof.Marshal()
			if err != nil {
				return nil, fmt.Errorf("marshal proof: %w", err)
			}
			resp.ProofOps = &cmtproto.ProofOps{Ops: []cmtproto.ProofOp{{Type: "ics23:iavl", Key: req.Data, Data: b}}}
		}
		return resp, nil
	}
	return &abci.ResponseQuery{Code: uint32(types.CodeInvalidRequest), Codespace: types.Codespace, Log: fmt.Sprintf("unknown query path %q (supported: /store)", req.Path)}, nil
}
