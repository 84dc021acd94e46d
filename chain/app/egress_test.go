package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// registerSimulatedWorker registers a simulated worker operated by
// //Alice (nonce 0) through CheckTx and a block, and returns its identity
// key. The default genesis admits simulated workers of the dev
// measurement.
func registerSimulatedWorker(tb testing.TB, h *harness) ed25519.PrivateKey {
	tb.Helper()
	seed := sha256.Sum256([]byte("egress-bench-worker"))
	w := chaintest.NewWorker(tb, ed25519.NewKeyFromSeed(seed[:]))
	w.Version = "bench"
	alice := signer(h.t, "//Alice")
	b := h.defaults(w.Registration(tb, testChain, h.app.GenesisHash(), acct(alice)))
	b.fee = "100000000000000"
	raw := h.sign(alice, b)
	if r := h.check(raw); r.Code != 0 {
		tb.Fatalf("registration CheckTx: %s", r.Log)
	}
	if res := h.block(raw); res[0].Code != 0 {
		tb.Fatalf("registration in block: %s", res[0].Log)
	}
	return w.Key
}

// syncEgress is worker id's signed egress number seq: a sync report
// (registry/synced) of height synced; variant makes the bytes distinct.
func syncEgress(tb testing.TB, id ed25519.PrivateKey, seq uint64, synced int64, variant uint64) *mqv1.MsgSyncEgress {
	tb.Helper()
	payload := chaintest.Encode(tb, &registryv1.SyncReport{SyncedHeight: synced, PingSequence: variant})
	return chaintest.SignEgress(tb, id, seq, registry.TopicSynced, payload)
}

// egressMsgs is worker id's n egress messages from sequence 0.
func egressMsgs(tb testing.TB, id ed25519.PrivateKey, n int, synced int64, variant uint64) []proto.Message {
	msgs := make([]proto.Message, n)
	for i := range msgs {
		msgs[i] = syncEgress(tb, id, uint64(i), synced, variant)
	}
	return msgs
}

// relayTx is //Alice's transaction carrying msgs with nonce: what a
// relayer submits (32 egress messages per transaction by default).
func relayTx(h *harness, nonce uint64, msgs []proto.Message) []byte {
	b := h.defaults(msgs...)
	b.nonce = nonce
	b.fee = "100000000000000"
	return h.sign(signer(h.t, "//Alice"), b)
}

// egressTx is relayTx with worker id's n egress messages from sequence 0
// and nonce 1 (after the registration). Distinct variants give distinct
// signatures.
func egressTx(tb testing.TB, h *harness, id ed25519.PrivateKey, n int, variant uint64) []byte {
	return relayTx(h, 1, egressMsgs(tb, id, n, h.height, variant))
}

// TestEgressVerdictsAcrossChecks: an egress transaction is judged the
// same by CheckTx, by every re-check while it waits and in its block,
// although only its first run verifies its egress signatures; a copy of
// it whose last egress signature was tampered with is refused in CheckTx
// and fails in a block, after the genuine signatures were verified; once
// committed, the egress is a duplicate.
func TestEgressVerdictsAcrossChecks(t *testing.T) {
	h := newHarness(t)
	id := registerSimulatedWorker(t, h)
	msgs := egressMsgs(t, id, 3, h.height, 0)
	raw := relayTx(h, 1, msgs)
	forged := make([]proto.Message, len(msgs))
	copy(forged, msgs)
	last := proto.Clone(msgs[2]).(*mqv1.MsgSyncEgress)
	last.Signature[10] ^= 1
	forged[2] = last

	recheck := func(tx []byte) *abci.ResponseCheckTx {
		t.Helper()
		r, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_Recheck})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := h.check(raw); r.Code != 0 {
		t.Fatalf("CheckTx: %s", r.Log)
	}
	for i := range 3 { // blocks without it, each followed by the re-check
		h.block()
		if r := recheck(raw); r.Code != 0 {
			t.Fatalf("re-check %d: %s", i, r.Log)
		}
	}
	h.app.resetCheckState()
	bad := relayTx(h, 1, forged)
	if r := h.check(bad); r.Code != uint32(mq.CodeEgressSignature) {
		t.Fatalf("forged egress in CheckTx: code %d %s", r.Code, r.Log)
	}
	id32 := [32]byte(id.Public().(ed25519.PublicKey))
	if res := h.block(bad); res[0].Code != uint32(mq.CodeEgressSignature) {
		t.Fatalf("forged egress in a block: code %d %s", res[0].Code, res[0].Log)
	}
	if got := mq.NextEgressSequence(h.app.Tree().Committed(), id32); got != 0 {
		t.Fatalf("egress sequence %d after a failed transaction", got)
	}
	if r := recheck(raw); r.Code != uint32(types.CodeStaleNonce) { // bad used nonce 1
		t.Fatalf("re-check after the nonce was used: code %d %s", r.Code, r.Log)
	}
	good := relayTx(h, 2, msgs)
	if res := h.block(good); res[0].Code != 0 {
		t.Fatalf("in a block: %s", res[0].Log)
	}
	if got := mq.NextEgressSequence(h.app.Tree().Committed(), id32); got != 3 {
		t.Fatalf("egress sequence %d after the block, want 3", got)
	}
	if r := h.check(relayTx(h, 3, msgs)); r.Code != uint32(mq.CodeEgressDuplicate) {
		t.Fatalf("egress replay: code %d %s", r.Code, r.Log)
	}
}
