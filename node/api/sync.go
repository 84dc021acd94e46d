package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/store"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
)

// Limits of the light-client endpoints: a batch must stay a few MB at
// most (a light block with 100 validators is ≈ 20 KB).
const (
	MaxLightBlocks     = 500
	MaxProvenMessages  = 1000
	defaultProvenLimit = 100
	validatorsPerPage  = 100
)

// initialHeightOf returns the chain's initial height from the genesis
// document, read once: GetStatus is called for every transaction a client
// builds, and the document can be large.
func (s *Service) initialHeightOf(ctx context.Context) (int64, error) {
	if h := s.initialHeight.Load(); h > 0 {
		return h, nil
	}
	g, err := s.cmt.Genesis(ctx)
	if err != nil {
		return 0, fmt.Errorf("genesis: %w", err)
	}
	h := max(g.Genesis.InitialHeight, 1)
	s.initialHeight.Store(h)
	return h, nil
}

// GetLightBlocks implements the API: signed headers and validator sets of
// consecutive heights from CometBFT's stores.
func (s *Service) GetLightBlocks(ctx context.Context, req *connect.Request[nodev1.GetLightBlocksRequest]) (*connect.Response[nodev1.GetLightBlocksResponse], error) {
	from := req.Msg.GetFromHeight()
	if from <= 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("from_height must be positive"))
	}
	count := int64(min(max(req.Msg.GetCount(), 1), MaxLightBlocks))
	st, err := s.cmt.Status(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("consensus status: %w", err))
	}
	latest := st.SyncInfo.LatestBlockHeight
	if base := st.SyncInfo.EarliestBlockHeight; from < base {
		return nil, connect.NewError(connect.CodeOutOfRange, fmt.Errorf("from_height %d is below the earliest stored block %d", from, base))
	}
	out := &nodev1.GetLightBlocksResponse{LatestHeight: latest}
	var vals *cmttypes.ValidatorSet
	var valsHash []byte
	for h := from; h < from+count && h <= latest; h++ {
		lb, err := s.lightBlock(ctx, h, vals, valsHash)
		if err != nil {
			return nil, err
		}
		if lb.ValidatorSet != vals {
			vals, valsHash = lb.ValidatorSet, lb.ValidatorSet.Hash()
		}
		p, err := lb.ToProto()
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("light block %d: %w", h, err))
		}
		b, err := p.Marshal()
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("light block %d: %w", h, err))
		}
		out.LightBlocks = append(out.LightBlocks, b)
	}
	return connect.NewResponse(out), nil
}

// lightBlock reads one height's commit and validator set. Consecutive
// heights usually share a validator set: when the header commits to
// prevHash, the hash of prev, prev is reused instead of read again (equal
// hashes mean equal sets).
func (s *Service) lightBlock(ctx context.Context, h int64, prev *cmttypes.ValidatorSet, prevHash []byte) (*cmttypes.LightBlock, error) {
	c, err := s.cmt.Commit(ctx, &h)
	if err != nil {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("commit %d: %w", h, err))
	}
	sh := c.SignedHeader
	if prev != nil && bytes.Equal(prevHash, sh.ValidatorsHash) {
		return &cmttypes.LightBlock{SignedHeader: &sh, ValidatorSet: prev}, nil
	}
	var all []*cmttypes.Validator
	for page := 1; ; page++ {
		per := validatorsPerPage
		v, err := s.cmt.Validators(ctx, &h, &page, &per)
		if err != nil {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("validators of %d: %w", h, err))
		}
		all = append(all, v.Validators...)
		if len(all) >= v.Total || len(v.Validators) == 0 {
			break
		}
	}
	vals, err := cmttypes.ValidatorSetFromExistingValidators(all)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("validators of %d: %w", h, err))
	}
	return &cmttypes.LightBlock{SignedHeader: &sh, ValidatorSet: vals}, nil
}

// GetProvenMessages implements the API: one topic's messages at one state
// version, each with its proof, and the topic's next sequence with its
// proof, all read from one snapshot of that version.
func (s *Service) GetProvenMessages(_ context.Context, req *connect.Request[nodev1.GetProvenMessagesRequest]) (*connect.Response[nodev1.GetProvenMessagesResponse], error) {
	topic := req.Msg.GetTopic()
	if err := mq.ValidateTopic(topic); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	limit := uint64(req.Msg.GetLimit())
	if limit == 0 {
		limit = defaultProvenLimit
	}
	limit = min(limit, MaxProvenMessages)
	version := req.Msg.GetHeight()
	if version < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("height must not be negative"))
	}
	// Version 0 is the latest; the messages are read at the version the
	// next sequence was (np.Version).
	tree := s.app.Tree()
	nextP, err := tree.GetProvenBatch([][]byte{mq.NextSequenceKey(topic)}, version)
	if err != nil {
		return nil, connect.NewError(connectCodeOf(err), err)
	}
	np := nextP[0]
	var next uint64
	if np.Exists {
		if len(np.Value) != 8 {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("stored next sequence of %q has %d bytes", topic, len(np.Value)))
		}
		next = binary.BigEndian.Uint64(np.Value)
	}
	out := &nodev1.GetProvenMessagesResponse{Height: np.Version, Topic: topic, NextSequence: next}
	if out.NextSequenceProof, err = np.Proof.Marshal(); err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	from := req.Msg.GetFromSequence()
	var keys [][]byte
	for seq := from; seq < next && uint64(len(keys)) < limit; seq++ {
		keys = append(keys, mq.MessageKey(topic, seq))
	}
	if len(keys) == 0 {
		return connect.NewResponse(out), nil
	}
	proven, err := tree.GetProvenBatch(keys, np.Version)
	if err != nil {
		return nil, connect.NewError(connectCodeOf(err), err)
	}
	var proofs []*ics23.CommitmentProof
	for i, p := range proven {
		if !p.Exists {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("message %d of %q is missing below next sequence %d", from+uint64(i), topic, next))
		}
		pm := &nodev1.ProvenMessage{Sequence: from + uint64(i), Message: p.Value}
		if req.Msg.GetBatch() {
			proofs = append(proofs, p.Proof)
		} else if pm.Proof, err = p.Proof.Marshal(); err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
		out.Messages = append(out.Messages, pm)
	}
	if req.Msg.GetBatch() {
		// CombineProofs compresses: inner nodes shared by consecutive keys
		// are sent once.
		batch, err := ics23.CombineProofs(proofs)
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("batch proof: %w", err))
		}
		if out.BatchProof, err = batch.Marshal(); err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
	}
	return connect.NewResponse(out), nil
}

// connectCodeOf maps store errors: a pruned or future version is out of
// range, anything else is the node's failure.
func connectCodeOf(err error) connect.Code {
	if errors.Is(err, store.ErrVersionUnavailable) {
		return connect.CodeOutOfRange
	}
	return connect.CodeInternal
}
