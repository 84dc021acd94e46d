package app

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
)

// benchChain is a committed chain with n funded sr25519 accounts and one
// pre-signed transfer (nonce 0) from each.
func benchChain(b *testing.B, n int) (*harness, [][]byte) {
	b.Helper()
	h := &harness{t: &testing.T{}, dir: b.TempDir(), now: time.Unix(1_700_000_000, 0).UTC()}
	a, err := New(Config{DataDir: h.dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	h.app = a
	ms := NewModuleSet()
	st := DefaultGenesis(ms.Modules)
	var g bank.Genesis
	json.Unmarshal(st["bank"], &g)
	signers := make([]keys.Signer, n)
	for i := range signers {
		seed := sha256.Sum256(fmt.Appendf(nil, "bench-%d", i))
		signers[i] = keys.NewSr25519FromSeed(seed)
		g.Balances = append(g.Balances, bank.GenesisBalance{Address: signers[i].Public().Address(42), Free: types.MustParseAmount("1000000000000000")})
	}
	st["bank"], _ = json.Marshal(g)
	raw, _ := json.Marshal(st)
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: raw, InitialHeight: 1, Time: h.now}); err != nil {
		b.Fatal(err)
	}
	h.block()
	txs := make([][]byte, n)
	for i, s := range signers {
		to := acct(signers[(i+1)%n])
		txs[i] = h.sign(s, h.defaults(transfer(to, "1000000")))
		if err := a.PreVerify(txs[i]); err != nil {
			b.Fatal(err)
		}
	}
	return h, txs
}

// BenchmarkCheckTxTransfer is the serialized per-transaction cost of the
// mempool path (signatures already verified by the API's PreVerify):
// CometBFT calls CheckTx one at a time, so this bounds ingestion.
func BenchmarkCheckTxTransfer(b *testing.B) {
	h, txs := benchChain(b, 5000)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(txs) {
			b.StopTimer()
			h.app.resetCheckState()
			i = 0
			b.StartTimer()
		}
		r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: txs[i], Type: abci.CheckTxType_New})
		if r.Code != 0 {
			b.Fatal(r.Log)
		}
		i++
	}
}

// BenchmarkFinalizeBlockTransfers executes and commits a block of 5,000
// pre-verified transfers (per-transaction figure = ns/op / 5000).
func BenchmarkFinalizeBlockTransfers(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		h, txs := benchChain(b, 5000)
		b.StartTimer()
		resp, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 2, Time: h.now.Add(time.Second), Txs: txs})
		if err != nil || resp.TxResults[0].Code != 0 {
			b.Fatal(err, resp.TxResults[0].Log)
		}
		if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
			b.Fatal(err)
		}
	}
}
