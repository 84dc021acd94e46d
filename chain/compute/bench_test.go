package compute

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// BenchmarkBookkeeping10k measures one block of compute bookkeeping with
// 10,000 Computing workers (1,000 of them in 100 stake pools) at the
// development parameters (60 challenges per worker-hour, 1 s blocks:
// λ ≈ 167 challenges per block). One iteration is one block on a cache
// over the on-disk IAVL tree (chain/store), as FinalizeBlock runs it:
// BeginBlock (the draws and their mq sends), the answers to the previous
// block's challenges (every 20th is left unanswered, so misses, slashes
// and recoveries are part of the steady state) through the module's
// egress handler, each in its own cache as mq runs it, then EndBlock
// (block reward, deadline sweep, reclaims, withdraw queues). commit=true adds writing the block cache to the tree and
// committing the version. mq's egress signature check and the
// transactions' own costs are not included: they are the same for every
// message and priced by fees.
func BenchmarkBookkeeping10k(b *testing.B) {
	const workers = 10_000
	e := benchState(b, workers)
	tree, err := store.Open(b.TempDir(), store.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tree.Close()
	mem := e.store()
	mem.Iterate(nil, func(k, v []byte) bool {
		tree.Working().Set(k, v)
		return true
	})
	if _, _, err := tree.Commit(); err != nil {
		b.Fatal(err)
	}
	bb := &benchBlocks{e: e, tree: tree}
	for range 30 { // fill the pipeline: open challenges, deadlines due
		bb.block(b, true)
	}
	if g := loadGlobals(tree.Working()); g.Active != workers {
		b.Fatalf("%d active workers", g.Active)
	}
	for _, commit := range []bool{false, true} {
		b.Run(fmt.Sprintf("commit=%v", commit), func(b *testing.B) {
			var challenges, answers, misses, keys int
			for range b.N {
				if !commit {
					b.StopTimer()
				}
				c, a, m, k := bb.block(b, commit)
				challenges, answers, misses, keys = challenges+c, answers+a, misses+m, keys+k
				if !commit {
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(challenges)/float64(b.N), "challenges/block")
			b.ReportMetric(float64(answers)/float64(b.N), "answers/block")
			b.ReportMetric(float64(misses)/float64(b.N), "misses/block")
			b.ReportMetric(float64(keys)/float64(b.N), "keys-written/block")
		})
	}
}

type benchBlocks struct {
	e    *env
	tree *store.Tree
	// open are the challenges drawn last block, answered in this one.
	open []*computev1.Challenge
	ids  [][]byte
	n    int
}

// block runs one block and returns its challenges, answers, misses and
// the keys it wrote.
// When timed is false the caller has stopped the timer and block restarts
// it around the module's work only.
func (bb *benchBlocks) block(b *testing.B, timed bool) (challenges, answers, misses, keys int) {
	e := bb.e
	cache := store.NewCache(bb.tree.Working())
	ctx := e.ctx.WithStore(cache)
	ctx.Height = bb.tree.Version() + 1
	if !timed {
		b.StartTimer()
	}
	if err := e.c.BeginBlock(ctx); err != nil {
		b.Fatal(err)
	}
	for i, c := range bb.open {
		bb.n++
		if bb.n%20 == 0 {
			continue
		}
		payload := enc(b, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: ctx.Height - 1})
		sub := store.NewCache(cache)
		hctx := ctx.WithStore(sub)
		if err := e.c.HandleEgress(hctx, [32]byte(bb.ids[i]), TopicHeartbeat, payload); err != nil {
			b.Fatalf("answer: %v", err)
		}
		sub.Write()
		ctx.AppendEvents(hctx.Events())
		answers++
	}
	if err := e.c.EndBlock(ctx); err != nil {
		b.Fatal(err)
	}
	if !timed {
		b.StopTimer()
	}
	bb.open, bb.ids = bb.open[:0], bb.ids[:0]
	for _, ev := range ctx.Events() {
		switch ev.Type {
		case "heartbeat_challenge":
			id := parseHex32(b, attr(ev, "worker"))
			w := Worker(cache, id)
			bb.open, bb.ids = append(bb.open, w.GetChallenge()), append(bb.ids, id)
			challenges++
		case "heartbeat_missed":
			misses++
		}
	}
	keys = cache.Len()
	cache.Write()
	if _, _, err := bb.tree.Commit(); err != nil {
		b.Fatal(err)
	}
	return challenges, answers, misses, keys
}

func parseHex32(b *testing.B, s string) []byte {
	id, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(id) != 32 {
		b.Fatalf("worker %q", s)
	}
	return id
}

// benchState builds n Computing workers through the module's messages on
// an in-memory store. Registry records and sync reports are written
// directly (registering 10,000 simulated workers through attestation
// would dominate the setup and is measured in the registry's benchmarks);
// they are what the registry writes, with a full-size HPKE key.
func benchState(b *testing.B, n int) *env {
	p := DefaultParams()
	e := newEnv(b, p, 1_000_000)
	e.noCheck = true
	e.c.SetIneligibleHook(nil)
	ctx := e.ctx
	r := rand.New(rand.NewPCG(7, 7))
	const operators, pools, perPool = 100, 100, 10
	ops := make([]types.AccountID, operators)
	for i := range ops {
		ops[i] = types.AccountID(sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench operator"), uint64(i))))
		if err := e.bank.Mint(ctx, ops[i], toks(10_000_000)); err != nil {
			b.Fatal(err)
		}
	}
	for j := range pools {
		e.mustExec(ops[j], &computev1.MsgCreatePool{CommissionPpm: uint32(r.IntN(200_000))})
		e.mustExec(ops[j], &computev1.MsgContribute{PoolId: uint64(j + 1), Amount: toks(100_000).String()})
	}
	hpkeKey := make([]byte, registry.HPKEPublicKeySize)
	for i := range n {
		id := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench worker"), uint64(i)))
		op := ops[i%operators]
		types.SetProto(ctx.Store, registry.WorkerKey(id[:]), &registryv1.WorkerRecord{
			Identity: id[:], HpkePublicKey: hpkeKey, Operator: op[:], TeeKind: "simulated", MeasurementId: "bench",
			Confidence: uint32(1 + i%5), RegisteredAt: 1, AttestedAt: 1, ExpiresAt: 1 << 40, Simulated: true, Version: "bench",
		})
		types.SetProto(ctx.Store, registry.SyncedKey(id[:]), &registryv1.WorkerSync{Report: &registryv1.SyncReport{SyncedHeight: 1}, ReportedAt: 1})
		score := 500 + r.Uint64N(4500)
		if err := e.c.HandleEgress(ctx, id, TopicBenchmark, enc(b, &computev1.BenchmarkReport{Score: score})); err != nil {
			b.Fatal(err)
		}
		e.mustExec(op, &computev1.MsgBind{Worker: id[:]})
		if i < pools*perPool {
			e.mustExec(op, &computev1.MsgAddWorker{PoolId: uint64(i%pools + 1), Worker: id[:]})
		}
		min, _ := MinStake(p.MinStakeK, score)
		e.mustExec(op, &computev1.MsgStartComputing{Worker: id[:], Stake: min.AddSat(toks(r.Uint64N(1000))).String()})
	}
	return e
}
