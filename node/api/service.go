// Package api serves the node's application API: a Connect service
// (Connect, gRPC and gRPC-Web on one port) over the in-process app and
// CometBFT's local RPC client.
package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/rpc/client/local"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	"github.com/veil-network/veil/internal/httpcors"
)

// MaxWait caps how long SubmitTx with wait holds a request open.
const MaxWait = 60 * time.Second

// Service implements nodev1connect.NodeServiceHandler.
type Service struct {
	app     *app.App
	cmt     *local.Local
	log     *slog.Logger
	closing chan struct{}
	// initialHeight caches the genesis initial height (see initialHeightOf).
	initialHeight atomic.Int64
}

var _ nodev1connect.NodeServiceHandler = (*Service)(nil)

// New builds the service.
func New(a *app.App, cmt *local.Local, log *slog.Logger) *Service {
	return &Service{app: a, cmt: cmt, log: log, closing: make(chan struct{})}
}

// Close ends open streams so the HTTP server can shut down promptly.
func (s *Service) Close() {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
}

// HTTPServer returns a server for the API with CORS for browsers (pages of
// the corsOrigins, "*" for any; see internal/httpcors for why "*" is safe
// for this credential-free API) and unencrypted HTTP/2 for gRPC clients.
// An entry that is not an origin is an error.
func (s *Service) HTTPServer(corsOrigins []string) (*http.Server, error) {
	cors, err := httpcors.New(corsOrigins)
	if err != nil {
		return nil, fmt.Errorf("API cors_origins: %w", err)
	}
	mux := http.NewServeMux()
	path, h := nodev1connect.NewNodeServiceHandler(s, connect.WithRecover(s.recoverHandler))
	mux.Handle(path, h)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           cors.Handler(mux),
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         &protocols,
	}, nil
}

// recoverHandler turns a handler panic (a bug, or a store failure while
// reading) into an internal error instead of a dropped connection.
func (s *Service) recoverHandler(_ context.Context, spec connect.Spec, _ http.Header, r any) error {
	s.log.Error("API handler panicked", "procedure", spec.Procedure, "panic", r)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// GetStatus implements the API.
func (s *Service) GetStatus(ctx context.Context, _ *connect.Request[nodev1.GetStatusRequest]) (*connect.Response[nodev1.GetStatusResponse], error) {
	st, err := s.cmt.Status(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("consensus status: %w", err))
	}
	if s.app.Tree().Version() == 0 {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the chain has not committed its first block yet"))
	}
	cp := s.app.ChainParams()
	// The app's genesis hash, fixed at InitChain and kept in state. The
	// genesis document CometBFT hands over after a restart is re-encoded
	// from its database (app_state compacted), so hashing it again would
	// give another value than the one worker registrations are bound to.
	genesisHash := s.app.GenesisHash()
	initialHeight, err := s.initialHeightOf(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	committed := s.app.Tree().Committed()
	ap := s.app.Auth.Params(committed)
	bp := s.app.Bank.Params(committed)
	return connect.NewResponse(&nodev1.GetStatusResponse{
		ChainId:            st.NodeInfo.Network,
		LatestHeight:       st.SyncInfo.LatestBlockHeight,
		LatestBlockTime:    timestamppb.New(st.SyncInfo.LatestBlockTime),
		LatestBlockHash:    st.SyncInfo.LatestBlockHash,
		LatestAppHash:      st.SyncInfo.LatestAppHash,
		NodeId:             string(st.NodeInfo.DefaultNodeID),
		CatchingUp:         st.SyncInfo.CatchingUp,
		Ss58Prefix:         uint32(cp.SS58Prefix),
		TokenSymbol:        cp.TokenSymbol,
		TokenDecimals:      uint32(cp.TokenDecimals),
		ExistentialDeposit: bp.ExistentialDeposit.String(),
		FeePerByte:         ap.FeePerByte.String(),
		FeePerMessage:      ap.FeePerMessage.String(),
		EarliestHeight:     st.SyncInfo.EarliestBlockHeight,
		Version:            app.Version,
		MessageWeights:     s.app.Router().Weights(),
		GenesisHash:        genesisHash[:],
		MaxTxLifetime:      ap.MaxTxLifetime,
		InitialHeight:      initialHeight,
	}), nil
}

// GetAccount implements the API.
func (s *Service) GetAccount(_ context.Context, req *connect.Request[nodev1.GetAccountRequest]) (*connect.Response[nodev1.GetAccountResponse], error) {
	prefix := s.app.ChainParams().SS58Prefix
	id, err := types.ParseAddress(strings.TrimSpace(req.Msg.GetAddress()), prefix)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	v := s.app.Account(id)
	return connect.NewResponse(&nodev1.GetAccountResponse{
		Address: id.Address(prefix), Free: v.Free.String(), Reserved: v.Reserved.String(),
		Nonce: v.PendingNonce, Height: v.Height,
	}), nil
}

// SubmitTx implements the API. With wait, the response arrives when the
// transaction is committed, or with committed=false at the deadline.
func (s *Service) SubmitTx(ctx context.Context, req *connect.Request[nodev1.SubmitTxRequest]) (*connect.Response[nodev1.SubmitTxResponse], error) {
	raw := req.Msg.GetTx()
	hash := auth.Hash(raw)
	var blocks <-chan *app.BlockResult
	if req.Msg.GetWait() {
		var cancel func()
		blocks, cancel = s.app.Subscribe(64)
		defer cancel()
	}
	// Verify the signature here, on this request's goroutine, so that the
	// mempool's serialized CheckTx finds it already checked.
	if err := s.app.PreVerify(raw); err != nil {
		code, log := types.CodeOf(err), err.Error()
		return connect.NewResponse(&nodev1.SubmitTxResponse{Result: &nodev1.TxResult{Hash: hash[:], Code: uint32(code), Codespace: types.Codespace, Log: log}}), nil
	}
	res, err := s.cmt.BroadcastTxSync(ctx, raw)
	if errors.Is(err, mempool.ErrTxInCache) {
		// The mempool's cache remembers these exact bytes: the transaction
		// is pending or was committed recently.
		return connect.NewResponse(&nodev1.SubmitTxResponse{Result: &nodev1.TxResult{
			Hash: hash[:], Code: uint32(types.CodeDuplicateTx), Codespace: types.Codespace,
			Log: "this transaction was already submitted (it is pending or recently committed)",
		}}), nil
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("broadcast: %w", err))
	}
	out := &nodev1.TxResult{Hash: hash[:], Code: res.Code, Codespace: res.Codespace, Log: res.Log}
	if res.Code != 0 || !req.Msg.GetWait() {
		return connect.NewResponse(&nodev1.SubmitTxResponse{Result: out}), nil
	}
	ctx, cancel := context.WithTimeout(ctx, MaxWait)
	defer cancel()
	for {
		select {
		case b, ok := <-blocks:
			if !ok {
				// Dropped for being slow: fall back to the index.
				r, err := s.lookupTx(ctx, hash[:])
				if err == nil && r != nil {
					return connect.NewResponse(&nodev1.SubmitTxResponse{Result: r, Committed: true}), nil
				}
				var c func()
				blocks, c = s.app.Subscribe(64)
				defer c()
				continue
			}
			for _, t := range b.Txs {
				if t.Hash == hash {
					return connect.NewResponse(&nodev1.SubmitTxResponse{Result: s.txResult(b.Height, t), Committed: true}), nil
				}
			}
		case <-ctx.Done():
			return connect.NewResponse(&nodev1.SubmitTxResponse{Result: out}), nil
		case <-s.closing:
			return nil, connect.NewError(connect.CodeUnavailable, errors.New("node is shutting down"))
		}
	}
}

func (s *Service) txResult(height int64, t app.TxResult) *nodev1.TxResult {
	prefix := s.app.ChainParams().SS58Prefix
	r := &nodev1.TxResult{
		Hash: t.Hash[:], Height: height, Index: t.Index, Code: uint32(t.Code), Log: t.Log,
		Events: convertEvents(t.Events),
	}
	if t.Code != types.CodeOK {
		r.Codespace = types.Codespace
	}
	if !t.Sender.IsZero() {
		r.Sender = t.Sender.Address(prefix)
		r.Fee = t.Fee.String()
	}
	return r
}

func convertEvents(evs []types.Event) []*nodev1.Event {
	out := make([]*nodev1.Event, len(evs))
	for i, e := range evs {
		ev := &nodev1.Event{Type: e.Type}
		for _, a := range e.Attrs {
			ev.Attributes = append(ev.Attributes, &nodev1.EventAttribute{Key: a.Key, Value: a.Value})
		}
		out[i] = ev
	}
	return out
}

func convertABCIEvents(evs []abci.Event) []*nodev1.Event {
	out := make([]*nodev1.Event, len(evs))
	for i, e := range evs {
		ev := &nodev1.Event{Type: e.Type}
		for _, a := range e.Attributes {
			ev.Attributes = append(ev.Attributes, &nodev1.EventAttribute{Key: a.Key, Value: a.Value})
		}
		out[i] = ev
	}
	return out
}

// lookupTx finds a committed transaction in CometBFT's index (nil if absent).
func (s *Service) lookupTx(ctx context.Context, hash []byte) (*nodev1.TxResult, error) {
	r, err := s.cmt.Tx(ctx, hash, false)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil, nil
		}
		return nil, err
	}
	out := &nodev1.TxResult{
		Hash: hash, Height: r.Height, Index: r.Index, Code: r.TxResult.Code, Codespace: r.TxResult.Codespace,
		Log: r.TxResult.Log, Events: convertABCIEvents(r.TxResult.Events),
	}
	s.fillSender(out, r.Tx)
	return out, nil
}

func (s *Service) fillSender(out *nodev1.TxResult, raw []byte) {
	tx, err := auth.Decode(raw, auth.Limits{}, s.app.Router())
	if err == nil {
		out.Sender = tx.Sender.Address(s.app.ChainParams().SS58Prefix)
		out.Fee = tx.Fee.String()
	}
}

// GetTx implements the API.
func (s *Service) GetTx(ctx context.Context, req *connect.Request[nodev1.GetTxRequest]) (*connect.Response[nodev1.GetTxResponse], error) {
	h := req.Msg.GetHash()
	if len(h) != 32 {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("hash has %d bytes, want 32", len(h)))
	}
	if height, tr, ok := s.app.RecentTx([32]byte(h)); ok {
		return connect.NewResponse(&nodev1.GetTxResponse{Status: nodev1.TxStatus_TX_STATUS_COMMITTED, Result: s.txResult(height, tr)}), nil
	}
	r, err := s.lookupTx(ctx, h)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("tx index: %w", err))
	}
	if r != nil {
		return connect.NewResponse(&nodev1.GetTxResponse{Status: nodev1.TxStatus_TX_STATUS_COMMITTED, Result: r}), nil
	}
	if s.app.IsPending([32]byte(h)) {
		return connect.NewResponse(&nodev1.GetTxResponse{Status: nodev1.TxStatus_TX_STATUS_PENDING, Result: &nodev1.TxResult{Hash: h}}), nil
	}
	return connect.NewResponse(&nodev1.GetTxResponse{Status: nodev1.TxStatus_TX_STATUS_UNKNOWN, Result: &nodev1.TxResult{Hash: h}}), nil
}

// GetBlock implements the API.
func (s *Service) GetBlock(ctx context.Context, req *connect.Request[nodev1.GetBlockRequest]) (*connect.Response[nodev1.GetBlockResponse], error) {
	b, raws, err := s.storedBlock(ctx, req.Msg.GetHeight())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&nodev1.GetBlockResponse{Block: b, Txs: raws}), nil
}

func (s *Service) storedBlock(ctx context.Context, height int64) (*nodev1.Block, [][]byte, error) {
	var hp *int64
	if height > 0 {
		hp = &height
	} else if height < 0 {
		return nil, nil, connect.NewError(connect.CodeInvalidArgument, errors.New("height must not be negative"))
	}
	blk, err := s.cmt.Block(ctx, hp)
	if err != nil {
		return nil, nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("block %d: %w", height, err))
	}
	h := blk.Block.Height
	results, err := s.cmt.BlockResults(ctx, &h)
	if err != nil {
		return nil, nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("results of block %d: %w", h, err))
	}
	out := &nodev1.Block{
		Height: h, Time: timestamppb.New(blk.Block.Time), Hash: blk.BlockID.Hash,
		AppHash: results.AppHash, Proposer: blk.Block.ProposerAddress,
		Events: convertABCIEvents(results.FinalizeBlockEvents),
	}
	raws := make([][]byte, len(blk.Block.Txs))
	for i, tx := range blk.Block.Txs {
		raws[i] = tx
		hash := auth.Hash(tx)
		r := &nodev1.TxResult{Hash: hash[:], Height: h, Index: uint32(i)}
		if i < len(results.TxsResults) {
			tr := results.TxsResults[i]
			r.Code, r.Codespace, r.Log, r.Events = tr.Code, tr.Codespace, tr.Log, convertABCIEvents(tr.Events)
		}
		s.fillSender(r, tx)
		out.Txs = append(out.Txs, r)
	}
	return out, raws, nil
}

func (s *Service) liveBlock(b *app.BlockResult) *nodev1.Block {
	out := &nodev1.Block{
		Height: b.Height, Time: timestamppb.New(b.Time), Hash: b.Hash, AppHash: b.AppHash,
		Proposer: b.Proposer, Events: convertEvents(b.Events),
	}
	for _, t := range b.Txs {
		out.Txs = append(out.Txs, s.txResult(b.Height, t))
	}
	return out
}

// StreamBlocks implements the API: history from from_height (if given),
// then every new block as it commits, without gaps or duplicates.
func (s *Service) StreamBlocks(ctx context.Context, req *connect.Request[nodev1.StreamBlocksRequest], stream *connect.ServerStream[nodev1.Block]) error {
	live, cancel := s.app.Subscribe(256)
	defer cancel()
	next := req.Msg.GetFromHeight()
	if next < 0 {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("from_height must not be negative"))
	}
	if next > 0 {
		st, err := s.cmt.Status(ctx)
		if err != nil {
			return connect.NewError(connect.CodeUnavailable, err)
		}
		if base := st.SyncInfo.EarliestBlockHeight; next < base {
			return connect.NewError(connect.CodeOutOfRange, fmt.Errorf("from_height %d is below the earliest stored block %d", next, base))
		}
		for ; next <= st.SyncInfo.LatestBlockHeight; next++ {
			b, _, err := s.storedBlock(ctx, next)
			if err != nil {
				return err
			}
			if err := stream.Send(b); err != nil {
				return err
			}
		}
	}
	for {
		select {
		case b, ok := <-live:
			if !ok {
				return connect.NewError(connect.CodeResourceExhausted, errors.New("stream consumer too slow; resubscribe with from_height"))
			}
			if b.Height < next {
				continue
			}
			// Blocks committed between the history read and now.
			for ; next > 0 && next < b.Height; next++ {
				sb, _, err := s.storedBlock(ctx, next)
				if err != nil {
					return err
				}
				if err := stream.Send(sb); err != nil {
					return err
				}
			}
			if err := stream.Send(s.liveBlock(b)); err != nil {
				return err
			}
			next = b.Height + 1
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		}
	}
}

// QueryState implements the API.
func (s *Service) QueryState(_ context.Context, req *connect.Request[nodev1.QueryStateRequest]) (*connect.Response[nodev1.QueryStateResponse], error) {
	if len(req.Msg.GetKey()) == 0 || len(req.Msg.GetKey()) > 1024 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("key must have 1..1024 bytes"))
	}
	p, err := s.app.Tree().GetProven(req.Msg.GetKey(), req.Msg.GetHeight(), req.Msg.GetProve())
	if err != nil {
		return nil, connect.NewError(connect.CodeNotFound, err)
	}
	out := &nodev1.QueryStateResponse{Key: p.Key, Value: p.Value, Exists: p.Exists, Height: p.Version}
	if p.Proof != nil {
		if out.Proof, err = p.Proof.Marshal(); err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
	}
	return connect.NewResponse(out), nil
}

// QueryModule implements the API.
func (s *Service) QueryModule(_ context.Context, req *connect.Request[nodev1.QueryModuleRequest]) (*connect.Response[nodev1.QueryModuleResponse], error) {
	if len(req.Msg.GetArgs()) > 64*1024 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("query arguments larger than 64 KiB"))
	}
	res, height, err := s.app.QueryModule(req.Msg.GetModule(), req.Msg.GetPath(), req.Msg.GetArgs())
	if err != nil {
		code := connect.CodeInternal
		switch types.CodeOf(err) {
		case types.CodeNotFound:
			code = connect.CodeNotFound
		case types.CodeInvalidRequest, types.CodeInvalidAddress, types.CodeInvalidAmount:
			code = connect.CodeInvalidArgument
		}
		return nil, connect.NewError(code, err)
	}
	return connect.NewResponse(&nodev1.QueryModuleResponse{Result: res, Height: height}), nil
}

// HexHash formats a hash for logs and CLI output.
func HexHash(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
