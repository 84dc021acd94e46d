package app

import (
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
)

// TxResult is one transaction's outcome in a committed block.
type TxResult struct {
	Hash   [32]byte
	Index  uint32
	Code   types.Code
	Log    string
	Events []types.Event
	Sender types.AccountID
	Fee    types.Amount
}

// BlockResult is a committed block as the app executed it.
type BlockResult struct {
	Height   int64
	Time     time.Time
	Hash     []byte
	AppHash  []byte
	Proposer []byte
	Txs      []TxResult
	Events   []types.Event
}

func resultErr(err error) (code types.Code, log string) {
	return types.CodeOf(err), err.Error()
}

// CheckTx admits transactions to the mempool only if they would succeed
// now: every bad-input case is refused here, before it reaches a block.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (resp *abci.ResponseCheckTx, err error) {
	defer recoverStoreFailure(&err)
	code, log := a.checkTx(req.Tx, req.Type == abci.CheckTxType_Recheck)
	if code != types.CodeOK {
		return &abci.ResponseCheckTx{Code: uint32(code), Codespace: types.Codespace, Log: log}, nil
	}
	return &abci.ResponseCheckTx{Code: 0}, nil
}

// PreVerify decodes a transaction and verifies its signature without
// taking any lock, remembering the result. The API's request handlers call
// it concurrently before handing a transaction to the mempool, so the
// expensive signature check runs on every core instead of inside the
// mempool's serialized CheckTx.
func (a *App) PreVerify(raw []byte) error {
	if randomness.IsProofTx(raw) {
		return randomness.SubmitError()
	}
	if a.tree.Version() == 0 {
		return nil // no parameters yet; CheckTx will decide
	}
	tx, err := auth.Decode(raw, a.committedAuthParams().Limits(), a.router)
	if err != nil {
		return err
	}
	if a.sigs.Has(tx.Hash) {
		return nil
	}
	if err := tx.VerifySignature(); err != nil {
		return err
	}
	a.sigs.Add(tx.Hash)
	return nil
}

func (a *App) checkTx(raw []byte, recheck bool) (types.Code, string) {
	if randomness.IsProofTx(raw) {
		// It would fail to decode as a transaction anyway; say why.
		return resultErr(randomness.SubmitError())
	}
	tx, err := auth.Decode(raw, a.committedAuthParams().Limits(), a.router)
	if err != nil {
		return resultErr(err)
	}
	if !recheck && !a.sigs.Has(tx.Hash) {
		if err := tx.VerifySignature(); err != nil {
			return resultErr(err)
		}
		a.sigs.Add(tx.Hash)
	}
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	if !recheck {
		if _, dup := a.inMempool[tx.Hash]; dup {
			return types.CodeDuplicateTx, "transaction is already in the mempool"
		}
	}
	// The next block's height: the transaction must still be valid there.
	height := a.tree.Version() + 1
	cache := store.NewCache(a.checkState)
	ctx := a.newContext(cache, height, a.checkTime)
	ctx.CheckOnly = true
	if recheck && !recheckFully(tx) {
		// After a block, CometBFT re-checks every remaining mempool
		// transaction while the mempool is locked. Only what other
		// transactions can invalidate for certain is re-run: nonce, fee,
		// expiry (as the Cosmos SDK does). A message that became invalid
		// fails in its block and pays its fee, unless its type asked to be
		// re-run in full (types.RecheckFully: egress sequences).
		if err := a.Auth.Ante(ctx, tx); err != nil {
			return resultErr(err)
		}
	} else if _, err := a.runTx(ctx, tx); err != nil {
		// A new transaction whose message would fail is refused
		// outright: it must never reach a block.
		return resultErr(err)
	}
	cache.Write()
	a.inMempool[tx.Hash] = struct{}{}
	return types.CodeOK, ""
}

// recheckFully reports whether any of tx's messages must be re-run in
// full on recheck.
func recheckFully(tx *auth.Tx) bool {
	for _, m := range tx.Msgs {
		if m.RecheckFully() {
			return true
		}
	}
	return false
}

// runTx authenticates and charges tx in ctx.Store, then runs its messages
// all or nothing in a nested cache. charged reports whether the ante
// (nonce + fee) succeeded: if so, its writes must be kept even when a
// message fails, because a failing transaction still cost the network.
func (a *App) runTx(ctx *types.Context, tx *auth.Tx) (charged bool, err error) {
	if err := a.Auth.Ante(ctx, tx); err != nil {
		return false, err
	}
	msgCache := store.NewCache(ctx.Store)
	mctx := ctx.WithStore(msgCache)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(*types.StoreFailure); ok {
				panic(r)
			}
			// A deterministic bug in a handler must not halt the chain:
			// every node fails this transaction the same way.
			a.log.Error("message handler panicked", "tx", fmt.Sprintf("%X", tx.Hash[:8]), "panic", r)
			err = types.Errf(types.CodeInternal, "message execution failed")
		}
	}()
	for i, m := range tx.Msgs {
		if err := m.Execute(mctx, tx.Sender); err != nil {
			return true, fmt.Errorf("message %d (%s): %w", i, m.TypeURL, err)
		}
	}
	msgCache.Write()
	ctx.AppendEvents(mctx.Events())
	return true, nil
}

// FinalizeBlock executes a decided block: its randomness first (so every
// module's BeginBlock sees it), then its transactions. Signatures not
// already verified by this node's CheckTx are batch-verified together.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (resp *abci.ResponseFinalizeBlock, err error) {
	defer recoverStoreFailure(&err)
	block := store.NewCache(a.tree.Working())
	var valUpdates []types.ValidatorUpdate
	ctx := a.newContext(block, req.Height, req.Time).WithValidatorUpdates(&valUpdates)
	ctx.Block = blockInfo(req)
	proof := a.applyRandomness(ctx, req)
	for _, m := range a.modules {
		if bb, ok := m.(types.BeginBlocker); ok {
			if err := bb.BeginBlock(ctx); err != nil {
				return nil, fmt.Errorf("begin block %d in %s: %w", req.Height, m.Name(), err)
			}
		}
	}

	decoded := make([]*auth.Tx, len(req.Txs))
	decodeErr := make([]error, len(req.Txs))
	var toVerify []*auth.Tx
	var toVerifyIdx []int
	limits := a.Auth.Params(block).Limits()
	for i, raw := range req.Txs {
		if randomness.IsProofTx(raw) {
			if i == 0 {
				decodeErr[i] = proof.err // nil: applied above
			} else {
				decodeErr[i] = randomness.MisplacedError(i)
			}
			continue
		}
		decoded[i], decodeErr[i] = auth.Decode(raw, limits, a.router)
		if decodeErr[i] == nil && !a.sigs.Has(decoded[i].Hash) {
			toVerify = append(toVerify, decoded[i])
			toVerifyIdx = append(toVerifyIdx, i)
		}
	}
	for j, e := range auth.VerifyBatch(toVerify) {
		if e != nil {
			decodeErr[toVerifyIdx[j]] = e
		}
	}

	res := &BlockResult{Height: req.Height, Time: req.Time, Hash: req.Hash, Proposer: req.ProposerAddress}
	txResults := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		tr := TxResult{Index: uint32(i)}
		if decoded[i] != nil {
			tr.Hash = decoded[i].Hash // hashed once, by auth.Decode
		} else {
			tr.Hash = auth.Hash(raw)
		}
		if decodeErr[i] != nil {
			tr.Code, tr.Log = resultErr(decodeErr[i])
		} else if decoded[i] == nil {
			tr.Events = proof.events // the block's valid randomness proof
		} else {
			tx := decoded[i]
			tr.Sender, tr.Fee = tx.Sender, tx.Fee
			txCache := store.NewCache(block)
			tctx := ctx.WithStore(txCache)
			charged, err := a.runTx(tctx, tx)
			if charged {
				txCache.Write()
				tr.Events = append([]types.Event{txEvent(ctx, tx)}, tctx.Events()...)
			}
			if err != nil {
				tr.Code, tr.Log = resultErr(err)
			}
		}
		res.Txs = append(res.Txs, tr)
		txResults[i] = toABCIResult(tr)
	}

	for _, m := range a.modules {
		if eb, ok := m.(types.EndBlocker); ok {
			if err := eb.EndBlock(ctx); err != nil {
				return nil, fmt.Errorf("end block %d in %s: %w", req.Height, m.Name(), err)
			}
		}
	}
	// Proposers of later blocks must be resolvable from their addresses.
	randomness.RecordKeys(block, valUpdates)
	res.Events = ctx.Events()
	if tb, err := req.Time.MarshalBinary(); err == nil {
		block.Set(keyLastBlock, tb)
	}
	block.Write()
	res.AppHash = a.tree.WorkingHash()
	a.pending = res
	return &abci.ResponseFinalizeBlock{
		TxResults:        txResults,
		Events:           toABCIEvents(res.Events),
		AppHash:          res.AppHash,
		ValidatorUpdates: toABCIValidatorUpdates(valUpdates),
	}, nil
}

// blockProof is the outcome of a block's randomness transaction.
type blockProof struct {
	// events of a valid proof, returned as its transaction's result.
	events []types.Event
	// err is why the first transaction, a proof transaction, failed.
	err error
}

// applyRandomness verifies the block's first transaction as its
// proposer's randomness proof and records the randomness, before any
// BeginBlock. A decided block without a valid proof (which
// ProcessProposal keeps consensus from deciding, but which a replayed or
// foreign block store may hold) gets the flagged fallback randomness and
// its "randomness" event among the block's events: the node never halts
// over it.
func (a *App) applyRandomness(ctx *types.Context, req *abci.RequestFinalizeBlock) blockProof {
	var first []byte
	if len(req.Txs) > 0 {
		first = req.Txs[0]
	}
	r, err := randomness.Verify(ctx.Store, a.chainID, a.genesisHash, req.Height, req.ProposerAddress, first)
	if err == nil {
		tctx := ctx.WithStore(ctx.Store)
		a.Randomness.Apply(tctx, r)
		return blockProof{events: tctx.Events()}
	}
	a.log.Error("block without a valid randomness proof; recording the fallback randomness", "height", req.Height,
		"proposer", fmt.Sprintf("%X", req.ProposerAddress), "err", err)
	a.Randomness.Apply(ctx, randomness.Fallback(ctx.Store, a.chainID, a.genesisHash, req.Height, req.ProposerAddress))
	return blockProof{err: err}
}

func txEvent(ctx *types.Context, tx *auth.Tx) types.Event {
	return types.Event{Type: "tx", Attrs: []types.Attr{
		{Key: "sender", Value: ctx.Address(tx.Sender)},
		{Key: "nonce", Value: fmt.Sprint(tx.Body.GetNonce())},
		{Key: "fee", Value: tx.Fee.String()},
	}}
}

func toABCIResult(tr TxResult) *abci.ExecTxResult {
	r := &abci.ExecTxResult{Code: uint32(tr.Code), Log: tr.Log, Events: toABCIEvents(tr.Events)}
	if tr.Code != types.CodeOK {
		r.Codespace = types.Codespace
	}
	return r
}

// indexed reports whether an event attribute is one CometBFT's tx indexer
// makes searchable (e.g. "transfer.to='5F…'"). Indexing every attribute would
// cost a database write each for values nobody searches by.
func indexed(key string) bool {
	switch key {
	case "sender", "from", "to", "account", "worker", "contract":
		return true
	}
	return false
}

func toABCIEvents(evs []types.Event) []abci.Event {
	out := make([]abci.Event, len(evs))
	for i, e := range evs {
		attrs := make([]abci.EventAttribute, len(e.Attrs))
		for j, at := range e.Attrs {
			attrs[j] = abci.EventAttribute{Key: at.Key, Value: at.Value, Index: indexed(at.Key)}
		}
		out[i] = abci.Event{Type: e.Type, Attributes: attrs}
	}
	return out
}

// Commit persists the block's state and publishes it to subscribers.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	if _, _, err := a.tree.Commit(); err != nil {
		return nil, fmt.Errorf("commit state: %w", err)
	}
	res := a.pending
	a.pending = nil
	a.checkMu.Lock()
	a.resetCheckStateLocked()
	a.checkMu.Unlock()
	if res != nil {
		a.subs.publish(res)
	}
	return &abci.ResponseCommit{}, nil
}

func (a *App) resetCheckState() {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	a.resetCheckStateLocked()
}

// resetCheckStateLocked rebases the mempool view on the new committed
// state. CometBFT then rechecks the remaining mempool transactions, which
// re-applies their effects in order.
func (a *App) resetCheckStateLocked() {
	committed := a.tree.Committed()
	a.checkState = store.NewCache(committed)
	a.checkTime = a.LastBlockTime()
	// Only Commit (this goroutine) and New move the committed version, so
	// Version and the snapshot agree here.
	a.checkAuth.Store(&versionedAuth{version: a.tree.Version(), params: a.Auth.Params(committed)})
	clear(a.inMempool)
}

// versionedAuth is the auth parameters of one committed version.
type versionedAuth struct {
	version int64
	params  auth.Params
}

// committedAuthParams is the auth parameters of the latest committed
// version, which bound transaction decoding in PreVerify and CheckTx.
// Reading them from the committed snapshot for every transaction was a
// second read of the same parameters per CheckTx (the ante reads them from
// the mempool view); they are read once per commit instead. Between the
// tree's commit and the reset that follows it the remembered version is
// the previous one, and the snapshot is read as before, so the limits are
// always the latest committed version's.
func (a *App) committedAuthParams() auth.Params {
	if c := a.checkAuth.Load(); c != nil && c.version == a.tree.Version() {
		return c.params
	}
	return a.Auth.Params(a.tree.Committed())
}

func blockInfo(req *abci.RequestFinalizeBlock) *types.BlockInfo {
	bi := &types.BlockInfo{Proposer: req.ProposerAddress}
	for _, v := range req.DecidedLastCommit.Votes {
		bi.Votes = append(bi.Votes, types.VoteInfo{
			Address: v.Validator.Address, Power: v.Validator.Power,
			Signed: v.BlockIdFlag == cmtproto.BlockIDFlagCommit,
		})
	}
	for _, m := range req.Misbehavior {
		kind := types.MisbehaviorUnknown
		switch m.Type {
		case abci.MisbehaviorType_DUPLICATE_VOTE:
			kind = types.MisbehaviorDuplicateVote
		case abci.MisbehaviorType_LIGHT_CLIENT_ATTACK:
			kind = types.MisbehaviorLightClientAttack
		}
		bi.Misbehavior = append(bi.Misbehavior, types.Misbehavior{
			Kind: kind, Address: m.Validator.Address, Power: m.Validator.Power,
			Height: m.Height, Time: m.Time, TotalVotingPower: m.TotalVotingPower,
		})
	}
	return bi
}

// fromABCIValidatorUpdates converts CometBFT's genesis validators. Veil's
// consensus keys are ed25519: they prove the block randomness.
func fromABCIValidatorUpdates(us []abci.ValidatorUpdate) ([]types.ValidatorUpdate, error) {
	out := make([]types.ValidatorUpdate, 0, len(us))
	for i, u := range us {
		pub := u.PubKey.GetEd25519()
		if len(pub) != 32 {
			return nil, fmt.Errorf("validator %d has a %s consensus key; Veil validators need ed25519 keys (they prove the block randomness)", i, u.PubKey.String())
		}
		out = append(out, types.ValidatorUpdate{PubKey: [32]byte(pub), Power: u.Power})
	}
	return out, nil
}

func toABCIValidatorUpdates(us []types.ValidatorUpdate) []abci.ValidatorUpdate {
	if len(us) == 0 {
		return nil
	}
	out := make([]abci.ValidatorUpdate, len(us))
	for i, u := range us {
		out[i] = abci.Ed25519ValidatorUpdate(u.PubKey[:], u.Power)
	}
	return out
}
