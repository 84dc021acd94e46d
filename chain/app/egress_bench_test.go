package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// BenchmarkCheckTxEgress: a relayer's transaction of 32 egress messages
// (worker sync reports) through CheckTx as a new transaction (never seen
// before, its transaction signature pre-verified as the API does), through
// the full re-check CometBFT runs after every block while it is pending
// (egress is types.RecheckFully), and in a block after its CheckTx.
func BenchmarkCheckTxEgress(b *testing.B) {
	const perTx = 32
	setup := func(b *testing.B) (*harness, ed25519.PrivateKey, []byte) {
		h := benchHarness(b)
		id := registerSimulatedWorker(b, h)
		return h, id, egressTx(b, h, id, perTx, 0)
	}
	check := func(b *testing.B, h *harness, raw []byte, typ abci.CheckTxType) {
		r, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: typ})
		if err != nil || r.Code != 0 {
			b.Fatalf("CheckTx: %v %s", err, r.GetLog())
		}
	}
	b.Run("new", func(b *testing.B) {
		h, id, _ := setup(b)
		variant := uint64(0)
		for b.Loop() {
			b.StopTimer()
			variant++
			raw := egressTx(b, h, id, perTx, variant)
			if err := h.app.PreVerify(raw); err != nil { // as the API does
				b.Fatal(err)
			}
			h.app.resetCheckState()
			b.StartTimer()
			check(b, h, raw, abci.CheckTxType_New)
		}
	})
	b.Run("recheck", func(b *testing.B) {
		h, _, raw := setup(b)
		check(b, h, raw, abci.CheckTxType_New)
		for b.Loop() {
			b.StopTimer()
			h.app.resetCheckState()
			b.StartTimer()
			check(b, h, raw, abci.CheckTxType_Recheck)
		}
	})
	b.Run("finalize", func(b *testing.B) {
		h, _, raw := setup(b)
		check(b, h, raw, abci.CheckTxType_New)
		for b.Loop() {
			resp, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height + 1, Time: h.now.Add(1), Txs: [][]byte{raw}})
			if err != nil || resp.TxResults[0].Code != 0 {
				b.Fatal(err, resp.TxResults[0].Log)
			}
			b.StopTimer()
			h.app.tree.Rollback() // the same block again next time
			b.StartTimer()
		}
	})
}

// benchHarness is a fresh chain with the default genesis, block 1
// committed, for benchmarks (harness's helpers take a *testing.T).
func benchHarness(b *testing.B) *harness {
	b.Helper()
	h := &harness{t: &testing.T{}, dir: b.TempDir(), now: time.Unix(1_700_000_000, 0).UTC()}
	a, err := New(Config{DataDir: h.dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	h.app = a
	st, err := json.Marshal(DefaultGenesis(a.Modules()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: st, InitialHeight: 1, Time: h.now}); err != nil {
		b.Fatal(err)
	}
	h.block()
	return h
}
