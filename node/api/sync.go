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

// ProvenMessagesBytes bounds one GetProvenMessages page: its messages and
// their proofs add up to at most this many bytes. The count limit alone
// allowed 1,000 messages of up to max_payload_bytes each (64 KiB by
// default), about 130 MiB with their proofs (an ICS23 existence proof
// holds the value it proves, so each message is sent twice), where gRPC
// clients accept 4 MiB by default. 2 MiB keeps an answer, protobuf
// framing, the next-sequence proof and even Connect's base64 JSON
// included, under that, as the mq module's "messages" query does with
// its own 2 MiB (mq.MessagesQueryBytes). A message larger than the budget is still
// returned when it is the first of a page, alone, so every page makes
// progress. In batch mode a message counts its single proof's size,
// which bounds its share of the compressed batch proof (shared inner
// nodes are sent once), and the page is then checked against the budget
// with the batch proof's real size.
const ProvenMessagesBytes = 2 << 20

// A page is read from the store in parts: firstProvenRead messages, then
// as many as the rest of the budget holds at the bytes per message seen
// so far, at most maxProvenRead at a time. So a page of large messages
// proves about what it returns, not the whole count limit (a thousand
// 64 KiB values to send thirty), and a page whose messages grow
// suddenly reads at most maxProvenRead more than it can send. Each part
// costs one lookup of the version's root.
const (
	firstProvenRead = 16
	maxProvenRead   = 64
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
// proof, all read from one snapshot of that version. A page holds at
// most limit messages and ProvenMessagesBytes of messages and proofs;
// the client asks for the next page from the sequence after the last
// one it received while that is below next_sequence.
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
	if from >= next {
		return connect.NewResponse(out), nil
	}
	page := provenPage{tree: tree, topic: topic, version: np.Version, batch: req.Msg.GetBatch(), budget: ProvenMessagesBytes}
	if err := page.read(from, min(limit, next-from)); err != nil {
		return nil, err
	}
	if page.batch {
		// First: it may shorten the page.
		if out.BatchProof, err = page.batchProof(); err != nil {
			return nil, err
		}
	}
	out.Messages = page.msgs
	return connect.NewResponse(out), nil
}

// provenPage collects one GetProvenMessages page of a topic's messages
// at one version.
type provenPage struct {
	tree    *store.Tree
	topic   string
	version int64
	// batch: the messages are proven by one compressed batch proof
	// (batchProof) instead of one proof each.
	batch bool
	// budget bounds the page's message and proof bytes (see
	// ProvenMessagesBytes).
	budget int

	msgs []*nodev1.ProvenMessage
	// proofs are the messages' single proofs, kept in batch mode to be
	// combined.
	proofs []*ics23.CommitmentProof
	// used is the budget taken so far: message bytes plus proof bytes
	// (single proofs' sizes in batch mode).
	used int
}

// read adds up to count messages from sequence from, all present in the
// topic at the page's version, stopping before the first one that would
// take the page over its budget (never before the page's first).
func (p *provenPage) read(from, count uint64) error {
	seq, end := from, from+count
	n := uint64(firstProvenRead)
	for seq < end {
		keys := make([][]byte, min(n, end-seq))
		for i := range keys {
			keys[i] = mq.MessageKey(p.topic, seq+uint64(i))
		}
		proven, err := p.tree.GetProvenBatch(keys, p.version)
		if err != nil {
			return connect.NewError(connectCodeOf(err), err)
		}
		for _, v := range proven {
			if !v.Exists {
				return connect.NewError(connect.CodeInternal, fmt.Errorf("message %d of %q is missing below its next sequence at version %d", seq, p.topic, p.version))
			}
			pm := &nodev1.ProvenMessage{Sequence: seq, Message: v.Value}
			cost := len(v.Value)
			if p.batch {
				cost += v.Proof.Size()
			} else {
				if pm.Proof, err = v.Proof.Marshal(); err != nil {
					return connect.NewError(connect.CodeInternal, fmt.Errorf("proof of message %d of %q: %w", seq, p.topic, err))
				}
				cost += len(pm.Proof)
			}
			if len(p.msgs) > 0 && p.used+cost > p.budget {
				return nil
			}
			p.used += cost
			p.msgs = append(p.msgs, pm)
			if p.batch {
				p.proofs = append(p.proofs, v.Proof)
			}
			seq++
		}
		// Next, about as many messages as the rest of the budget holds
		// at the bytes per message so far, plus the one that will not
		// fit.
		per := max(p.used/len(p.msgs), 1)
		n = min(uint64(max(p.budget-p.used, 0)/per)+1, maxProvenRead)
	}
	return nil
}

// batchProof combines the page's proofs into one compressed ICS23 batch
// proof (inner nodes shared by consecutive keys are sent once). Single
// proofs' sizes bound their shares of it, so the page fits its budget;
// should the batch ever come out larger, the page is shortened until it
// fits, keeping at least one message.
func (p *provenPage) batchProof() ([]byte, error) {
	for {
		batch, err := ics23.CombineProofs(p.proofs)
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("batch proof of %q: %w", p.topic, err))
		}
		b, err := batch.Marshal()
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("batch proof of %q: %w", p.topic, err))
		}
		msgBytes := 0
		for _, m := range p.msgs {
			msgBytes += len(m.Message)
		}
		if len(p.msgs) == 1 || msgBytes+len(b) <= p.budget {
			return b, nil
		}
		p.msgs, p.proofs = p.msgs[:len(p.msgs)-1], p.proofs[:len(p.proofs)-1]
	}
}

// connectCodeOf maps store errors: a pruned or future version is out of
// range, anything else is the node's failure.
func connectCodeOf(err error) connect.Code {
	if errors.Is(err, store.ErrVersionUnavailable) {
		return connect.CodeOutOfRange
	}
	return connect.CodeInternal
}
