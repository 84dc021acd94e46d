package lightclient_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/devnet"
	"github.com/veil-network/veil/worker/lightclient"
)

func lightBlock(t *testing.T, lc *local.Local, h int64) *cmttypes.LightBlock {
	t.Helper()
	ctx := context.Background()
	c, err := lc.Commit(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	page, per := 1, 100
	v, err := lc.Validators(ctx, &h, &page, &per)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := cmttypes.ValidatorSetFromExistingValidators(v.Validators)
	if err != nil {
		t.Fatal(err)
	}
	return &cmttypes.LightBlock{SignedHeader: &c.SignedHeader, ValidatorSet: vals}
}

// clone deep-copies a light block through its protobuf form so tests can
// tamper without touching the original.
func clone(t *testing.T, lb *cmttypes.LightBlock) *cmttypes.LightBlock {
	p, err := lb.ToProto()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Marshal()
	var p2 cmtproto.LightBlock
	if err := p2.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	out, err := cmttypes.LightBlockFromProto(&p2)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLightClientAgainstRealNode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n, err := devnet.Start(ctx, devnet.Options{Home: home, Reset: true, Logger: slog.New(slog.DiscardHandler), BlockTime: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	cli := n.Client()
	if err := cli.WaitHeight(ctx, 12); err != nil {
		t.Fatal(err)
	}
	lc := local.New(n.Nodes[0].Comet)
	chainID := n.Info.ChainID
	first := lightBlock(t, lc, 1)
	root := lightclient.TrustRoot{ChainID: chainID, InitialHeight: 1, Validators: first.ValidatorSet}

	// Wrong trust roots are refused.
	wrong, _ := lightclient.New(lightclient.TrustRoot{ChainID: "other-chain", Validators: first.ValidatorSet}, lightclient.Options{})
	if err := wrong.Update(first); err == nil {
		t.Fatal("accepted a header of another chain")
	}

	c, err := lightclient.New(root, lightclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(lightBlock(t, lc, 2)); !errors.Is(err, lightclient.ErrTrustRoot) {
		t.Fatalf("bootstrap at height 2: %v", err)
	}
	if err := c.Update(first); err != nil {
		t.Fatal(err)
	}
	// Adjacent steps, then a skip.
	for h := int64(2); h <= 5; h++ {
		if err := c.Update(lightBlock(t, lc, h)); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
	}
	if err := c.Update(lightBlock(t, lc, 9)); err != nil {
		t.Fatalf("skip to 9: %v", err)
	}
	if c.TrustedHeight() != 9 {
		t.Fatalf("trusted %d", c.TrustedHeight())
	}

	next := lightBlock(t, lc, 10)
	// Forged app hash: the commit no longer signs this header.
	forged := clone(t, next)
	forged.AppHash = make([]byte, 32)
	if err := c.Update(forged); err == nil {
		t.Fatal("accepted a forged app hash")
	}
	// A validator set that does not hash to the header's.
	badVals := clone(t, next)
	other := cmttypes.NewValidator(badVals.ValidatorSet.Validators[0].PubKey, 999)
	badVals.ValidatorSet = cmttypes.NewValidatorSet([]*cmttypes.Validator{other})
	if err := c.Update(badVals); err == nil {
		t.Fatal("accepted a validator set that does not match the header")
	}
	// Too little voting power: the only signature removed.
	unsigned := clone(t, next)
	unsigned.Commit.Signatures[0] = cmttypes.NewCommitSigAbsent()
	if err := c.Update(unsigned); err == nil {
		t.Fatal("accepted a header without 2/3 of the power")
	}
	// Out of order: an old height already verified is a no-op; below the
	// kept window it is refused.
	if err := c.Update(lightBlock(t, lc, 4)); err != nil {
		t.Fatalf("re-feeding a verified header: %v", err)
	}
	if c.TrustedHeight() != 9 {
		t.Fatal("re-feeding moved the client")
	}
	if err := c.Update(next); err != nil {
		t.Fatal(err)
	}

	// Proofs against verified app hashes.
	bob := bank.DevAccounts[1].Address
	bobID, _ := types.ParseAddress(bob, 42)
	proven, err := n.Nodes[0].App.Tree().GetProven(bank.BalanceKey(bobID), 9, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyState(9, proven.Key, proven.Value, proven.Proof); err != nil {
		t.Fatalf("proof at version 9: %v", err)
	}
	tampered := append([]byte{}, proven.Value...)
	tampered[3] ^= 1
	if err := c.VerifyState(9, proven.Key, tampered, proven.Proof); !errors.Is(err, lightclient.ErrProof) {
		t.Fatalf("tampered value: %v", err)
	}
	if err := c.VerifyState(8, proven.Key, proven.Value, proven.Proof); err == nil {
		// version 8's root differs only if state changed; block time is
		// written every block, so it does.
		t.Fatal("proof for version 9 verified against version 8")
	}
	var emptyProof *ics23.CommitmentProof
	if err := c.VerifyState(9, proven.Key, proven.Value, emptyProof); err == nil {
		t.Fatal("missing proof accepted")
	}

	// Checkpoint and restore, then keep verifying.
	cp, err := c.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := lightclient.New(root, lightclient.Options{})
	if err := c2.Restore(cp); err != nil {
		t.Fatal(err)
	}
	// Checkpoints are stable: cached header encodings, and a restored
	// client, write the same bytes.
	for i, cl := range []*lightclient.Client{c, c2} {
		again, err := cl.Checkpoint()
		if err != nil || !bytes.Equal(again, cp) {
			t.Fatalf("checkpoint %d differs from the first (%v)", i, err)
		}
	}
	if err := c2.Update(lightBlock(t, lc, 11)); err != nil || c2.TrustedHeight() != 11 {
		t.Fatalf("after restore: %v", err)
	}
	if err := c2.VerifyState(9, proven.Key, proven.Value, proven.Proof); err != nil {
		t.Fatalf("proof after restore: %v", err)
	}

	// A real equivocation: the validator's own key signs a different
	// header at a verified height. The client keeps it and freezes.
	conf := cmtcfg.DefaultConfig()
	conf.SetRoot(filepath.Join(home, "validators", "validator0"))
	pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	evil := clone(t, lightBlock(t, lc, 11))
	evil.AppHash = make([]byte, 32)
	bid := cmttypes.BlockID{Hash: evil.Header.Hash(), PartSetHeader: evil.Commit.BlockID.PartSetHeader}
	evil.Commit.BlockID = bid
	vote := &cmttypes.Vote{Type: 2, Height: evil.Height, Round: evil.Commit.Round, BlockID: bid,
		Timestamp: evil.Commit.Signatures[0].Timestamp, ValidatorAddress: pv.Key.Address, ValidatorIndex: 0}
	sig, err := pv.Key.PrivKey.Sign(cmttypes.VoteSignBytes(chainID, vote.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	evil.Commit.Signatures[0].Signature = sig
	if err := c2.Update(evil); !errors.Is(err, lightclient.ErrFrozen) {
		t.Fatalf("conflicting header: %v", err)
	}
	if cf := c2.Conflict(); cf == nil || cf.Height != 11 {
		t.Fatalf("conflict evidence: %+v", cf)
	}
	if err := c2.Update(lightBlock(t, lc, 12)); !errors.Is(err, lightclient.ErrFrozen) {
		t.Fatalf("frozen client advanced: %v", err)
	}
}

// FuzzRestore: arbitrary checkpoint bytes never panic the client.
func FuzzRestore(f *testing.F) {
	pub := ed25519.GenPrivKeyFromSecret([]byte("fuzz")).PubKey()
	root := lightclient.TrustRoot{ChainID: "fuzz", Validators: cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(pub, 1)})}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{0, 0, 0, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := lightclient.New(root, lightclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Restore(b)
	})
}
