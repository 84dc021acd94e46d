// Package lightclient is the worker's view of the chain: it verifies CometBFT
// light blocks (signed header + validator set) from an explicit trust root,
// follows validator-set hand-offs produced by NPoS eras, detects conflicting
// headers, and verifies ICS23 proofs of state against app hashes it has
// verified. It never trusts the relayer or the host: everything it accepts
// is signed by 2/3+ of the voting power of a validator set it already
// trusts (adjacent) or by 1/3+ of it plus 2/3+ of the new set (skipping).
//
// Time. Inside a TEE the host controls the clock, so the client never reads
// one: "now" for CometBFT's trusting-period check is the time of the header
// being verified, which only validators can sign. The effect is that a
// single verification step may not span more than the trusting period (a
// relayer must feed intermediate headers across long gaps), which bounds how
// far stale validator keys can skip ahead. It does NOT stop a long-range
// attack by a former 2/3 majority whose stake has since unbonded, if the
// worker is offline longer than the unbonding period: that needs a fresh
// trust root (documented in docs/lightclient.md).
package lightclient

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cometbft/cometbft/light"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veil-network/veil/chain/store"
)

// Errors callers can match.
var (
	ErrNotBootstrapped = errors.New("light client has no trusted header yet")
	ErrFrozen          = errors.New("light client is frozen: conflicting headers were seen")
	ErrTrustRoot       = errors.New("light block does not match the trust root")
	ErrOld             = errors.New("light block is at or below the trusted height")
	ErrUnknownHeight   = errors.New("no verified header commits that height's state")
	ErrProof           = errors.New("state proof does not verify")
)

// TrustRoot is what the worker is initialised with: the chain id, the
// initial height and the validator set that signs it (after InitChain —
// with NPoS this is the staking module's genesis set, not necessarily
// genesis.json's list).
type TrustRoot struct {
	ChainID       string
	InitialHeight int64
	Validators    *cmttypes.ValidatorSet
}

// Options tune verification.
type Options struct {
	// TrustingPeriod bounds one verification step (default 14 days,
	// below a typical unbonding period of 21 days).
	TrustingPeriod time.Duration
	// KeepHeaders is how many recent verified headers are kept for proof
	// verification and conflict detection (default 10,000).
	KeepHeaders int
}

// Conflict is evidence of two validly signed, different headers at one
// height. Once seen, the client refuses to advance.
type Conflict struct {
	Height   int64
	Trusted  []byte // hash of the header we verified
	Received []byte // hash of the conflicting header
	Header   *cmttypes.SignedHeader
}

// Client is a light client. Not safe for concurrent use: the worker
// serializes calls.
type Client struct {
	root    TrustRoot
	opts    Options
	trusted *cmttypes.LightBlock
	// headers are the recent verified headers, by height, for proofs
	// and conflict detection.
	headers map[int64]*cmttypes.Header
	// heights are the keys of headers, ascending.
	heights []int64
	// encoded caches the protobuf encoding of headers for Checkpoint,
	// which runs after every call that changed the worker's state: a
	// verified header never changes, so it is encoded once.
	encoded  map[int64][]byte
	conflict *Conflict
}

// New returns a client that will accept the chain's first block when given.
func New(root TrustRoot, opts Options) (*Client, error) {
	if root.ChainID == "" || root.Validators == nil || root.Validators.Size() == 0 {
		return nil, fmt.Errorf("%w: chain id and a non-empty validator set are required", ErrTrustRoot)
	}
	if err := root.Validators.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrustRoot, err)
	}
	if root.InitialHeight <= 0 {
		root.InitialHeight = 1
	}
	if opts.TrustingPeriod <= 0 {
		opts.TrustingPeriod = 14 * 24 * time.Hour
	}
	if opts.KeepHeaders <= 0 {
		opts.KeepHeaders = 10_000
	}
	return &Client{root: root, opts: opts, headers: map[int64]*cmttypes.Header{}, encoded: map[int64][]byte{}}, nil
}

// TrustedHeight is the latest verified height (0 before the first block).
func (c *Client) TrustedHeight() int64 {
	if c.trusted == nil {
		return 0
	}
	return c.trusted.Height
}

// Trusted returns the latest verified light block.
func (c *Client) Trusted() *cmttypes.LightBlock { return c.trusted }

// Conflict returns the conflicting-header evidence, if any.
func (c *Client) Conflict() *Conflict { return c.conflict }

// Update verifies lb against the trusted state and advances to it.
// Heights at or below the trusted height are checked for conflicts.
func (c *Client) Update(lb *cmttypes.LightBlock) error {
	if c.conflict != nil {
		return ErrFrozen
	}
	if lb == nil || lb.SignedHeader == nil || lb.ValidatorSet == nil {
		return errors.New("incomplete light block")
	}
	if err := lb.ValidateBasic(c.root.ChainID); err != nil {
		return fmt.Errorf("invalid light block at height %d: %w", lb.Height, err)
	}
	if c.trusted == nil {
		return c.bootstrap(lb)
	}
	if lb.Height <= c.trusted.Height {
		return c.checkKnown(lb)
	}
	now := lb.Time
	err := light.Verify(c.trusted.SignedHeader, c.trusted.ValidatorSet, lb.SignedHeader, lb.ValidatorSet,
		c.opts.TrustingPeriod, now, time.Minute, light.DefaultTrustLevel)
	if err != nil {
		return fmt.Errorf("verify header %d from trusted %d: %w", lb.Height, c.trusted.Height, err)
	}
	c.accept(lb)
	return nil
}

// bootstrap accepts the first block: its validator set must be the trust
// root's, and 2/3+ of that set must have signed it.
func (c *Client) bootstrap(lb *cmttypes.LightBlock) error {
	if lb.Height != c.root.InitialHeight {
		return fmt.Errorf("%w: first light block must be the initial height %d, got %d", ErrTrustRoot, c.root.InitialHeight, lb.Height)
	}
	if !bytes.Equal(lb.ValidatorsHash, c.root.Validators.Hash()) || !bytes.Equal(lb.ValidatorSet.Hash(), c.root.Validators.Hash()) {
		return fmt.Errorf("%w: validator set hash differs from the trust root's", ErrTrustRoot)
	}
	if err := c.root.Validators.VerifyCommitLight(c.root.ChainID, lb.Commit.BlockID, lb.Height, lb.Commit); err != nil {
		return fmt.Errorf("%w: initial commit: %v", ErrTrustRoot, err)
	}
	c.accept(lb)
	return nil
}

// checkKnown handles a block at an already-verified height: identical is a
// no-op; a different header that is validly signed by that height's
// validators is a conflict (kept as evidence, the client freezes).
func (c *Client) checkKnown(lb *cmttypes.LightBlock) error {
	h, ok := c.headers[lb.Height]
	if !ok {
		return fmt.Errorf("%w: %d (trusted %d)", ErrOld, lb.Height, c.trusted.Height)
	}
	if bytes.Equal(h.Hash(), lb.Hash()) {
		return nil
	}
	// Only a header signed by the validators that were trusted at that
	// height is evidence; anything else is just garbage from the relayer.
	if !bytes.Equal(lb.ValidatorsHash, h.ValidatorsHash) {
		return fmt.Errorf("%w: %d with a different validator set", ErrOld, lb.Height)
	}
	if err := lb.ValidatorSet.VerifyCommitLight(c.root.ChainID, lb.Commit.BlockID, lb.Height, lb.Commit); err != nil {
		return fmt.Errorf("%w: %d, and its commit does not verify: %v", ErrOld, lb.Height, err)
	}
	c.conflict = &Conflict{Height: lb.Height, Trusted: h.Hash(), Received: lb.Hash(), Header: lb.SignedHeader}
	return ErrFrozen
}

func (c *Client) accept(lb *cmttypes.LightBlock) {
	c.trusted = lb
	hdr := lb.Header
	c.headers[lb.Height] = hdr
	c.heights = append(c.heights, lb.Height)
	for len(c.heights) > c.opts.KeepHeaders {
		delete(c.headers, c.heights[0])
		delete(c.encoded, c.heights[0])
		c.heights = c.heights[1:]
	}
}

// StateRoot returns the app hash that commits the state after block
// `version` (it is carried by the header of version+1).
func (c *Client) StateRoot(version int64) ([]byte, error) {
	h, ok := c.headers[version+1]
	if !ok {
		return nil, fmt.Errorf("%w: state version %d needs verified header %d", ErrUnknownHeight, version, version+1)
	}
	return h.AppHash, nil
}

// VerifyState checks an ICS23 proof that key has value (nil: is absent)
// in the state after block `version`.
func (c *Client) VerifyState(version int64, key, value []byte, proof *ics23.CommitmentProof) error {
	root, err := c.StateRoot(version)
	if err != nil {
		return err
	}
	if err := store.VerifyProof(root, proof, key, value); err != nil {
		return fmt.Errorf("%w: key %x at version %d: %v", ErrProof, key, version, err)
	}
	return nil
}

// Checkpoint is the client's state for sealing at rest, so a restarted
// worker resumes without re-syncing.
func (c *Client) Checkpoint() ([]byte, error) {
	if c.trusted == nil {
		return nil, ErrNotBootstrapped
	}
	cp, err := c.trusted.ToProto()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	// Recent headers ride along for proof verification after restart.
	var buf bytes.Buffer
	b, err := cp.Marshal()
	if err != nil {
		return nil, err
	}
	writeChunk(&buf, b)
	for _, h := range c.heights {
		hb, ok := c.encoded[h]
		if !ok {
			if hb, err = c.headers[h].ToProto().Marshal(); err != nil {
				return nil, err
			}
			c.encoded[h] = hb
		}
		writeChunk(&buf, hb)
	}
	return buf.Bytes(), nil
}

// Restore loads a checkpoint written by Checkpoint. The checkpoint must
// come from sealed storage: it is trusted as the client's own memory.
func (c *Client) Restore(b []byte) error {
	chunks, err := readChunks(b)
	if err != nil || len(chunks) == 0 {
		return fmt.Errorf("restore checkpoint: malformed (%v)", err)
	}
	var lbp cmtproto.LightBlock
	if err := lbp.Unmarshal(chunks[0]); err != nil {
		return fmt.Errorf("restore checkpoint: %w", err)
	}
	lb, err := cmttypes.LightBlockFromProto(&lbp)
	if err != nil {
		return fmt.Errorf("restore checkpoint: %w", err)
	}
	if err := lb.ValidateBasic(c.root.ChainID); err != nil {
		return fmt.Errorf("restore checkpoint: %w", err)
	}
	headers := map[int64]*cmttypes.Header{}
	var heights []int64
	for _, hb := range chunks[1:] {
		var hp cmtproto.Header
		if err := hp.Unmarshal(hb); err != nil {
			return fmt.Errorf("restore checkpoint header: %w", err)
		}
		h, err := cmttypes.HeaderFromProto(&hp)
		if err != nil {
			return fmt.Errorf("restore checkpoint header: %w", err)
		}
		if _, dup := headers[h.Height]; !dup {
			heights = append(heights, h.Height)
		}
		headers[h.Height] = &h
	}
	if _, ok := headers[lb.Height]; !ok {
		heights = append(heights, lb.Height)
	}
	headers[lb.Height] = lb.Header
	slices.Sort(heights)
	c.trusted, c.headers, c.heights, c.encoded = lb, headers, heights, map[int64][]byte{}
	return nil
}
