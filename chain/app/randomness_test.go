package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/types"
)

// consensusKey is a CometBFT-format ed25519 private key (seed ‖ public).
func consensusKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("consensus " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func consensusAddr(k ed25519.PrivateKey) []byte {
	h := sha256.Sum256(k[32:])
	return h[:20]
}

// newValidatorHarness is a chain whose genesis validators are the given
// keys, run by an app holding the first key, with block 1 (on the genesis
// seed) proposed by it and committed.
func newValidatorHarness(t *testing.T, keys ...ed25519.PrivateKey) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), now: time.Unix(1_700_000_000, 0).UTC()}
	h.openWithKey(keys[0])
	st, err := json.Marshal(DefaultGenesis(h.app.Modules()))
	if err != nil {
		t.Fatal(err)
	}
	var vals []abci.ValidatorUpdate
	for _, k := range keys {
		vals = append(vals, abci.Ed25519ValidatorUpdate(k[32:], 10))
	}
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: st, InitialHeight: 1, Time: h.now, Validators: vals}); err != nil {
		t.Fatal(err)
	}
	h.propose(keys[0])
	return h
}

func (h *harness) openWithKey(k ed25519.PrivateKey) {
	a, err := New(Config{DataDir: h.dir, ConsensusKey: k})
	if err != nil {
		h.t.Fatal(err)
	}
	h.app = a
	h.t.Cleanup(func() { a.Close() })
}

const testMaxTxBytes = 1 << 20

// prepare asks the app to build the next block's proposal from mempool txs.
func (h *harness) prepare(proposer []byte, maxBytes int64, txs ...[]byte) [][]byte {
	h.t.Helper()
	resp, err := h.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{
		MaxTxBytes: maxBytes, Txs: txs, Height: h.height + 1, Time: h.now.Add(time.Second), ProposerAddress: proposer,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmttypes.ToTxs(resp.Txs).Validate(maxBytes); err != nil {
		h.t.Fatalf("proposal breaks CometBFT's size check: %v", err)
	}
	return resp.Txs
}

// process reports whether the app accepts the proposal for the next height.
func (h *harness) process(proposer []byte, txs [][]byte) bool {
	h.t.Helper()
	resp, err := h.app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{
		Txs: txs, Height: h.height + 1, Time: h.now.Add(time.Second), ProposerAddress: proposer,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Status == abci.ResponseProcessProposal_ACCEPT
}

// finalize executes and commits the next block as decided.
func (h *harness) finalize(proposer []byte, txs [][]byte) *abci.ResponseFinalizeBlock {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(time.Second)
	resp, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: h.now, Txs: txs, ProposerAddress: proposer})
	if err != nil {
		h.t.Fatalf("finalize block %d: %v", h.height, err)
	}
	if len(resp.TxResults) != len(txs) {
		h.t.Fatalf("%d results for %d txs", len(resp.TxResults), len(txs))
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatal(err)
	}
	h.checkInvariant()
	return resp
}

// propose runs a block through the full proposal path as proposer k: the
// app prepares it, accepts it, executes and commits it.
func (h *harness) propose(k ed25519.PrivateKey, txs ...[]byte) ([][]byte, *abci.ResponseFinalizeBlock) {
	h.t.Helper()
	addr := consensusAddr(k)
	block := h.prepare(addr, testMaxTxBytes, txs...)
	if !h.process(addr, block) {
		h.t.Fatalf("block %d: the app rejected its own proposal", h.height+1)
	}
	return block, h.finalize(addr, block)
}

func eventAttrs(evs []abci.Event, typ string) map[string]string {
	for _, e := range evs {
		if e.Type == typ {
			m := map[string]string{}
			for _, a := range e.Attributes {
				m[a.Key] = a.Value
			}
			return m
		}
	}
	return nil
}

// TestBlocksCarryRandomness: every proposed block starts with the
// proposer's proof, which every validator accepts; FinalizeBlock records
// the randomness before the block's transactions, returns one result per
// transaction (the proof's carrying the "randomness" event), and the
// query serves it.
func TestBlocksCarryRandomness(t *testing.T) {
	alice := consensusKey("alice")
	h := newValidatorHarness(t, alice)
	payer, bob := signer(t, "//Alice"), signer(t, "//Bob")
	prev := randomness.Latest(h.app.Tree().Committed()).GetOutput()
	if len(prev) != randomness.OutputSize {
		t.Fatal("block 1 has no randomness")
	}
	for n := uint64(0); n < 3; n++ {
		b := h.defaults(transfer(acct(bob), "1000000000000"))
		b.nonce = n
		tx := h.sign(payer, b)
		if r := h.check(tx); r.Code != 0 {
			t.Fatalf("CheckTx: %s", r.Log)
		}
		block, resp := h.propose(alice, tx)
		if len(block) != 2 || !randomness.IsProofTx(block[0]) || !bytes.Equal(block[1], tx) {
			t.Fatalf("block %d layout: %d txs", h.height, len(block))
		}
		if resp.TxResults[0].Code != 0 || resp.TxResults[1].Code != 0 {
			t.Fatalf("results: %+v", resp.TxResults)
		}
		ev := eventAttrs(resp.TxResults[0].Events, randomness.Name)
		if ev == nil || ev["fallback"] != "false" || ev["proposer"] != "0x"+hexs(consensusAddr(alice)) {
			t.Fatalf("proof result events %+v", resp.TxResults[0].Events)
		}
		if eventAttrs(resp.Events, randomness.Name) != nil {
			t.Fatal("a valid proof's event is also among the block's events")
		}
		r := randomness.Latest(h.app.Tree().Committed())
		if r.GetHeight() != h.height || r.GetFallback() || ev["output"] != "0x"+hexs(r.GetOutput()) {
			t.Fatalf("recorded %+v", r)
		}
		if !bytes.HasSuffix(r.GetInput(), prev) {
			t.Fatal("input does not chain the previous output")
		}
		prev = r.GetOutput()
	}
	out, height, err := h.app.QueryModule(randomness.Name, "randomness", nil)
	if err != nil {
		t.Fatal(err)
	}
	var v randomness.View
	if err := json.Unmarshal(out, &v); err != nil || v.Height != height || v.Output != "0x"+hexs(prev) || v.Fallback {
		t.Fatalf("query %s: %v", out, err)
	}
	if _, _, err := h.app.QueryModule(randomness.Name, "randomness", []byte("1")); err != nil {
		t.Fatalf("query height 1: %v", err)
	}
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

// TestProcessProposalRejects: a block without the proposer's valid proof
// as its first transaction, or with a second proof, is rejected.
func TestProcessProposalRejects(t *testing.T) {
	alice, bob, carol := consensusKey("alice"), consensusKey("bob"), consensusKey("carol")
	h := newValidatorHarness(t, alice, bob)
	a, b := consensusAddr(alice), consensusAddr(bob)
	good := h.prepare(a, testMaxTxBytes)
	if len(good) != 1 || !h.process(a, good) {
		t.Fatal("good proposal")
	}
	tx := h.sign(signer(t, "//Alice"), h.defaults(transfer(acct(signer(t, "//Bob")), "1000000000000")))

	bobProof, err := randomness.Prove(h.app.Tree().Committed(), testChain, h.app.GenesisHash(), h.height+1, mustRandKey(t, bob))
	if err != nil {
		t.Fatal(err)
	}
	carolProof, err := randomness.Prove(h.app.Tree().Committed(), testChain, h.app.GenesisHash(), h.height+1, mustRandKey(t, carol))
	if err != nil {
		t.Fatal(err)
	}
	wrongHeight, err := randomness.Prove(h.app.Tree().Committed(), testChain, h.app.GenesisHash(), h.height+2, mustRandKey(t, alice))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		proposer []byte
		txs      [][]byte
	}{
		{"empty block", a, nil},
		{"no proof", a, [][]byte{tx}},
		{"proof not first", a, [][]byte{tx, good[0]}},
		{"second proof", a, [][]byte{good[0], good[0]}},
		{"wrong key", a, [][]byte{bobProof}},
		{"another validator's proof", b, [][]byte{good[0]}},
		{"unknown proposer", consensusAddr(carol), [][]byte{carolProof}},
		{"proof of another height", a, [][]byte{wrongHeight}},
		{"malformed proof", a, [][]byte{good[0][:len(good[0])-1]}},
		{"proof with trailing garbage", a, [][]byte{append(bytes.Clone(good[0]), 0)}},
	} {
		if h.process(c.proposer, c.txs) {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// Bob's own proof, with Bob proposing, is fine.
	if !h.process(b, [][]byte{bobProof, tx}) {
		t.Fatal("bob's valid proposal rejected")
	}
}

func mustRandKey(t *testing.T, k ed25519.PrivateKey) *randomness.Key {
	t.Helper()
	rk, err := randomness.NewKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return rk
}

// TestPrepareProposalWithoutKey: an app without the proposer's key
// proposes without a proof (logged), which validators reject.
func TestPrepareProposalWithoutKey(t *testing.T) {
	alice, bob := consensusKey("alice"), consensusKey("bob")
	h := newValidatorHarness(t, alice, bob)
	tx := h.sign(signer(t, "//Alice"), h.defaults(transfer(acct(signer(t, "//Bob")), "1000000000000")))
	// Alice's node asked to propose for Bob: its key is not Bob's.
	b := consensusAddr(bob)
	block := h.prepare(b, testMaxTxBytes, tx)
	if len(block) != 1 || randomness.IsProofTx(block[0]) {
		t.Fatalf("proposal with the wrong key: %d txs", len(block))
	}
	if h.process(b, block) {
		t.Fatal("a proposal without a proof was accepted")
	}
	// A node without any key.
	h.app.vrfKey = nil
	if block := h.prepare(consensusAddr(alice), testMaxTxBytes, tx); len(block) != 1 || randomness.IsProofTx(block[0]) {
		t.Fatal("keyless proposal")
	}
	if _, err := New(Config{DataDir: t.TempDir(), ConsensusKey: alice[:32]}); err == nil {
		t.Fatal("a 32-byte consensus key was accepted")
	}
}

// TestPrepareProposalSize: the proof counts against MaxTxBytes as
// CometBFT counts it (with each transaction's protobuf framing), and
// mempool proof transactions are never proposed.
func TestPrepareProposalSize(t *testing.T) {
	alice := consensusKey("alice")
	h := newValidatorHarness(t, alice)
	a := consensusAddr(alice)
	payer, bob := signer(t, "//Alice"), signer(t, "//Bob")
	var txs [][]byte
	for n := uint64(0); n < 4; n++ {
		b := h.defaults(transfer(acct(bob), "1000000000000"))
		b.nonce = n
		txs = append(txs, h.sign(payer, b))
	}
	proofSize := blockTxSize(h.prepare(a, testMaxTxBytes)[0])
	// Room for the proof and exactly two transactions.
	limit := proofSize + blockTxSize(txs[0]) + blockTxSize(txs[1])
	block := h.prepare(a, limit, txs...)
	if len(block) != 3 || !randomness.IsProofTx(block[0]) {
		t.Fatalf("%d txs within %d bytes", len(block), limit)
	}
	if block := h.prepare(a, limit-1, txs...); len(block) != 2 {
		t.Fatalf("%d txs within %d bytes", len(block), limit-1)
	}
	// A proof transaction smuggled into the mempool's list is dropped.
	block = h.prepare(a, testMaxTxBytes, randomness.EncodeProofTx(h.height+1, make([]byte, randomness.ProofSize)), txs[0])
	if len(block) != 2 || !bytes.Equal(block[1], txs[0]) {
		t.Fatalf("proposal kept a mempool proof: %d txs", len(block))
	}
}

// TestProofTxNotSubmittable: CheckTx and PreVerify (the API's submit
// path) refuse a proof transaction with a clear message.
func TestProofTxNotSubmittable(t *testing.T) {
	alice := consensusKey("alice")
	h := newValidatorHarness(t, alice)
	proof := h.prepare(consensusAddr(alice), testMaxTxBytes)[0]
	r := h.check(proof)
	if r.Code != uint32(types.CodeTxDecode) || !strings.Contains(r.Log, "randomness proof") || r.Codespace != types.Codespace {
		t.Fatalf("CheckTx: %d %q", r.Code, r.Log)
	}
	if err := h.app.PreVerify(proof); types.CodeOf(err) != types.CodeTxDecode || !strings.Contains(err.Error(), "cannot be submitted") {
		t.Fatalf("PreVerify: %v", err)
	}
}

// TestFinalizeBlockFallback: a decided block without a valid proof never
// halts the node: it gets the flagged fallback randomness, an invalid
// proof and a misplaced one fail as transactions, and results stay one
// per transaction.
func TestFinalizeBlockFallback(t *testing.T) {
	alice, bob := consensusKey("alice"), consensusKey("bob")
	h := newValidatorHarness(t, alice, bob)
	a := consensusAddr(alice)
	tx := h.sign(signer(t, "//Alice"), h.defaults(transfer(acct(signer(t, "//Bob")), "1000000000000")))

	// No proof at all.
	resp := h.finalize(a, [][]byte{tx})
	if resp.TxResults[0].Code != 0 {
		t.Fatalf("transfer in a proofless block: %s", resp.TxResults[0].Log)
	}
	ev := eventAttrs(resp.Events, randomness.Name)
	if ev == nil || ev["fallback"] != "true" {
		t.Fatalf("block events %+v", resp.Events)
	}
	r := randomness.Latest(h.app.Tree().Committed())
	if !r.GetFallback() || r.GetHeight() != h.height {
		t.Fatalf("recorded %+v", r)
	}

	// Bob's proof while Alice proposes, and a second proof at index 1.
	bobProof, err := randomness.Prove(h.app.Tree().Committed(), testChain, h.app.GenesisHash(), h.height+1, mustRandKey(t, bob))
	if err != nil {
		t.Fatal(err)
	}
	resp = h.finalize(a, [][]byte{bobProof, bobProof})
	if c := types.Code(resp.TxResults[0].Code); c != randomness.CodeInvalidProof {
		t.Fatalf("invalid proof result %d %s", c, resp.TxResults[0].Log)
	}
	if c := types.Code(resp.TxResults[1].Code); c != randomness.CodeMisplacedProof {
		t.Fatalf("misplaced proof result %d %s", c, resp.TxResults[1].Log)
	}
	if !randomness.Latest(h.app.Tree().Committed()).GetFallback() {
		t.Fatal("invalid proof recorded as valid")
	}

	// The chain goes on with proofs over the fallback output.
	if _, resp := h.propose(alice); eventAttrs(resp.TxResults[0].Events, randomness.Name)["fallback"] != "false" {
		t.Fatal("proofs after a fallback")
	}
}

// TestRandomnessSurvivesRestart: the key registry and the latest output
// are state, so a restarted node proposes and verifies on.
func TestRandomnessSurvivesRestart(t *testing.T) {
	alice := consensusKey("alice")
	h := newValidatorHarness(t, alice)
	h.propose(alice)
	h.app.Close()
	h.openWithKey(alice)
	if _, resp := h.propose(alice); resp.TxResults[0].Code != 0 {
		t.Fatal("proof after restart")
	}
	if r := randomness.Latest(h.app.Tree().Committed()); r.GetHeight() != 3 || r.GetFallback() {
		t.Fatalf("latest %+v", r)
	}
}

// TestGenesisValidatorKeys: genesis validators' keys are registered, and
// a non-ed25519 genesis validator is refused.
func TestGenesisValidatorKeys(t *testing.T) {
	alice, bob := consensusKey("alice"), consensusKey("bob")
	h := newValidatorHarness(t, alice, bob)
	for _, k := range []ed25519.PrivateKey{alice, bob} {
		if got := randomness.ConsensusKey(h.app.Tree().Committed(), consensusAddr(k)); !bytes.Equal(got, k[32:]) {
			t.Fatalf("registered key %x", got)
		}
	}
	a, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, _ := json.Marshal(DefaultGenesis(a.Modules()))
	secp := abci.UpdateValidator(make([]byte, 33), 10, "secp256k1")
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: st, InitialHeight: 1, Time: time.Unix(1, 0), Validators: []abci.ValidatorUpdate{secp}}); err == nil {
		t.Fatal("a secp256k1 genesis validator was accepted")
	}
}
