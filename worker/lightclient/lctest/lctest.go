// Package lctest builds CometBFT light blocks signed with real ed25519
// signatures by a validator set it holds the keys of: what the light
// client's, the worker's and the queue's tests and benchmarks verify
// without starting a chain. Test support only; nothing else imports it.
package lctest

import (
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
)

// Chain is a chain of consecutive signed light blocks.
type Chain struct {
	ChainID    string
	Validators *cmttypes.ValidatorSet
	privs      []cmttypes.PrivValidator
	last       cmttypes.BlockID
	t0         time.Time
}

// New returns a chain signed by a fresh set of n validators of equal power.
func New(chainID string, n int) *Chain {
	vals, pvs := cmttypes.RandValidatorSet(n, 10)
	return &Chain{ChainID: chainID, Validators: vals, privs: pvs, t0: time.Unix(1_700_000_000, 0).UTC()}
}

// Block signs the header of height h — app hash appHash (nil: 32 zero
// bytes), linked to the block this Chain signed before — with a commit of
// every validator, at time t0 + h seconds.
func (c *Chain) Block(tb testing.TB, h int64, appHash []byte) *cmttypes.LightBlock {
	tb.Helper()
	if appHash == nil {
		appHash = make([]byte, 32)
	}
	vals := c.Validators
	hdr := &cmttypes.Header{
		Version: cmtversion.Consensus{Block: version.BlockProtocol}, ChainID: c.ChainID, Height: h,
		Time: c.t0.Add(time.Duration(h) * time.Second), LastBlockID: c.last,
		ValidatorsHash: vals.Hash(), NextValidatorsHash: vals.Hash(),
		ConsensusHash: make([]byte, 32), AppHash: appHash, LastResultsHash: make([]byte, 32),
		LastCommitHash: make([]byte, 32), DataHash: make([]byte, 32), EvidenceHash: make([]byte, 32),
		ProposerAddress: vals.Proposer.Address,
	}
	bid := cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: make([]byte, 32)}}
	vs := cmttypes.NewVoteSet(c.ChainID, h, 0, cmtproto.PrecommitType, vals)
	ext, err := cmttypes.MakeExtCommit(bid, h, 0, vs, c.privs, hdr.Time, false)
	if err != nil {
		tb.Fatal(err)
	}
	c.last = bid
	return &cmttypes.LightBlock{SignedHeader: &cmttypes.SignedHeader{Header: hdr, Commit: ext.ToCommit()}, ValidatorSet: vals}
}

// Blocks signs heights from..to with zero app hashes.
func (c *Chain) Blocks(tb testing.TB, from, to int64) []*cmttypes.LightBlock {
	tb.Helper()
	out := make([]*cmttypes.LightBlock, 0, max(to-from+1, 0))
	for h := from; h <= to; h++ {
		out = append(out, c.Block(tb, h, nil))
	}
	return out
}
