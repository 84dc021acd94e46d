package staking

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// benchStakers bonds validators (accounts 1..v) and nominators (accounts
// 1000..1000+n, 16 random targets each) on a fresh env with params p.
func benchStakers(b *testing.B, p Params, v, n int) *env {
	e := newEnv(b, p)
	e.fast = true
	ctx := e.ctx()
	big := func(i int) types.AccountID { return types.AccountID{byte(i >> 8), byte(i), 0xBE} }
	r := rand.New(rand.NewPCG(1, 2))
	for i := range v {
		if err := e.bank.Mint(ctx, big(i), tok(10_000)); err != nil {
			b.Fatal(err)
		}
		e.mustExec(big(i), bondMsg(1000+uint64(r.IntN(5000))))
		e.mustExec(big(i), &stakingv1.MsgValidate{Commission: uint32(r.IntN(100_000_000)), ConsensusPubkey: consKey(i + 1)})
	}
	for i := range n {
		who := big(1000 + i)
		if err := e.bank.Mint(ctx, who, tok(10_000)); err != nil {
			b.Fatal(err)
		}
		e.mustExec(who, bondMsg(10+uint64(r.IntN(5000))))
		m := &stakingv1.MsgNominate{}
		for _, t := range r.Perm(v)[:16] {
			a := big(t)
			m.Targets = append(m.Targets, a[:])
		}
		e.mustExec(who, m)
	}
	return e
}

// BenchmarkElection is the election alone (snapshot + seq-Phragmén with
// 10 balancing rounds + exposures) on an in-memory store, at the default
// 100 seats.
func BenchmarkElection(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("candidates=200/nominators=%d", n), func(b *testing.B) {
			p := DefaultParams()
			e := benchStakers(b, p, 200, n)
			b.ResetTimer()
			for range b.N {
				out, reason := e.m.elect(e.store, p)
				if reason != "" || len(out.winners) != 100 {
					b.Fatalf("election: %q, %d winners", reason, len(out.winners))
				}
			}
		})
	}
}

// BenchmarkPayoutBlock is one block's payout batch (payouts_per_block = 64
// stakers: mint, re-stake, ledger update, event) after an era of 100
// validators and 1,000 nominators, on the real IAVL state tree: each
// iteration is a block cache written and committed.
func BenchmarkPayoutBlock(b *testing.B) {
	p := DefaultParams()
	p.EraLength = 10
	e := benchStakers(b, p, 200, 1000)
	e.toEraEnd() // era 1: 100 elected, exposures with nominators
	for range p.EraLength - 1 {
		e.block(nil)
	}
	e.block(nil) // era 1 ends: payouts queued
	tree, err := store.Open(b.TempDir(), store.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tree.Close()
	e.store.Iterate(nil, func(k, v []byte) bool {
		tree.Working().Set(k, v)
		return true
	})
	if _, _, err := tree.Commit(); err != nil {
		b.Fatal(err)
	}
	era := uint64(1)
	vals := eraValidators(e.store, era)
	for _, withCommit := range []bool{false, true} {
		b.Run(fmt.Sprintf("commit=%v", withCommit), func(b *testing.B) { payoutBlocks(b, e, p, tree, era, vals, withCommit) })
	}
}

func payoutBlocks(b *testing.B, e *env, p Params, tree *store.Tree, era uint64, vals []eraStash, withCommit bool) {
	for range b.N {
		cache := store.NewCache(tree.Working())
		ctx := e.ctx()
		ctx.Store = cache
		empty := true
		cache.Iterate(prefixPayQueue, func(_, _ []byte) bool { empty = false; return false })
		if empty {
			for _, v := range vals {
				setU32(cache, key(prefixPayQueue, u64(era), v.stash[:]), 0)
			}
		}
		e.m.processPayouts(ctx, p)
		if !withCommit {
			b.StopTimer()
		}
		cache.Write()
		if _, _, err := tree.Commit(); err != nil {
			b.Fatal(err)
		}
		if !withCommit {
			b.StartTimer()
		}
	}
}
