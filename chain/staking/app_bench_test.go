package staking_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
)

// BenchmarkEraRotation measures a whole FinalizeBlock + Commit of an era
// boundary in the real application (IAVL state on disk): snapshot of 200
// candidates and 1,000 or 10,000 nominators (16 targets each), seq-Phragmén for the
// default 100 seats with 10 balancing rounds, exposures written, old eras
// pruned, validator updates returned. era_length is 1 so every block is a
// boundary.
func BenchmarkEraRotation(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("candidates=200/nominators=%d", n), func(b *testing.B) { eraRotation(b, 200, n) })
	}
}

func eraRotation(b *testing.B, candidates, nominators int) {
	p := staking.DefaultParams()
	p.EraLength = 1
	p.BondingDuration = 2
	p.HistoryDepth = 4
	a, err := app.New(app.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	st := app.DefaultGenesis(a.Modules())
	id := func(i int) types.AccountID { return types.AccountID{byte(i >> 8), byte(i), 0xBE} }
	var bg bank.Genesis
	if err := json.Unmarshal(st["bank"], &bg); err != nil {
		b.Fatal(err)
	}
	sg := staking.Genesis{Params: p}
	r := rand.New(rand.NewPCG(1, 2))
	tok := func(n uint64) types.Amount { v, _ := types.NewAmount(1_000_000_000_000).Mul64(n); return v }
	for i := range candidates {
		bond := tok(1000 + uint64(r.IntN(5000)))
		bg.Balances = append(bg.Balances, bank.GenesisBalance{Address: id(i).Address(42), Free: tok(10_000)})
		seed := make([]byte, 32)
		seed[0], seed[1] = byte(i), byte(i>>8)
		sg.Validators = append(sg.Validators, staking.GenesisValidator{Stash: id(i).Address(42), Bond: bond,
			Commission: staking.Perbill(r.IntN(100_000_000)), ConsensusPubKey: hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))})
	}
	for i := range nominators {
		who := id(1000 + i)
		bg.Balances = append(bg.Balances, bank.GenesisBalance{Address: who.Address(42), Free: tok(10_000)})
		n := staking.GenesisNominator{Stash: who.Address(42), Bond: tok(10 + uint64(r.IntN(5000)))}
		for _, t := range r.Perm(candidates)[:16] {
			n.Targets = append(n.Targets, id(t).Address(42))
		}
		sg.Nominators = append(sg.Nominators, n)
	}
	st["bank"], _ = json.Marshal(bg)
	st["staking"], _ = json.Marshal(sg)
	raw, _ := json.Marshal(st)
	now := time.Unix(1_700_000_000, 0)
	ctx := context.Background()
	init, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: "bench", AppStateBytes: raw, InitialHeight: 1, Time: now})
	if err != nil {
		b.Fatal(err)
	}
	if len(init.Validators) != 100 {
		b.Fatalf("genesis elected %d", len(init.Validators))
	}
	height := int64(0)
	step := func() *abci.ResponseFinalizeBlock {
		height++
		now = now.Add(time.Second)
		res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: now})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			b.Fatal(err)
		}
		return res
	}
	for range 6 { // past history_depth, so pruning is part of every block
		step()
	}
	b.ResetTimer()
	for range b.N {
		res := step()
		for _, ev := range res.Events {
			if ev.Type == "election_failed" {
				b.Fatal(fmt.Sprint(ev))
			}
		}
	}
}
