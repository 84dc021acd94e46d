package compute

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// The active set (Computing and Unresponsive workers) is a dense array in
// state: index → identity and identity → index, with swap-remove, so a
// uniform draw is one read whatever the set's size.

func activeIdxKey(i uint64) []byte  { return key(prefixActiveIdx, u64(i)) }
func activePosKey(id []byte) []byte { return key(prefixActivePos, id) }

func activeAdd(s types.KVStore, g *globals, id []byte) {
	s.Set(activeIdxKey(g.Active), id)
	s.Set(activePosKey(id), u64(g.Active))
	g.Active++
}

func activeRemove(s types.KVStore, g *globals, id []byte) {
	v := s.Get(activePosKey(id))
	if len(v) != 8 || g.Active == 0 {
		return
	}
	i, last := binary.BigEndian.Uint64(v), g.Active-1
	if i != last {
		moved := s.Get(activeIdxKey(last))
		s.Set(activeIdxKey(i), moved)
		s.Set(activePosKey(moved), u64(i))
	}
	s.Delete(activeIdxKey(last))
	s.Delete(activePosKey(id))
	g.Active--
}

// ActiveAt returns the identity at index i of the active set (nil past the
// end), for tests and tools.
func ActiveAt(s types.KVStore, i uint64) []byte { return s.Get(activeIdxKey(i)) }

// BeginBlock draws the block's heartbeat challenges from this block's
// randomness (the randomness module records it before any module's
// BeginBlock). Drawing before the block's transactions fixes the active
// set the draw maps onto as the previous block left it, so the proposer,
// who knows the output while choosing transactions, cannot steer the draw
// by including or leaving out starts and stops: it can only withhold the
// block (docs/randomness.md).
func (m *Module) BeginBlock(ctx *types.Context) error {
	if !ctx.Store.Has(keyParams) {
		return nil // not initialised (a chain without the module's genesis)
	}
	p := m.Params(ctx.Store)
	g := loadGlobals(ctx.Store)
	if g.Active == 0 || p.ChallengesPerHour == 0 {
		return nil
	}
	return m.drawChallenges(ctx, p, g.Active)
}

// EndBlock runs the rest of the per-block bookkeeping, in this order:
//
//  1. the block reward, to the shares as they stand after the block's
//     transactions (a worker stopped in this block earns nothing for it);
//  2. the deadline sweep: challenges due at or below this height and still
//     open are misses (answers in this block's transactions came first, so
//     "an answer must land at or below the deadline" holds exactly);
//  3. automatic reclaims of forced stops whose cool-down ended, then the
//     pools' withdraw queues (which the reclaims and rewards refill).
//
// Everything is bounded per block (the Max… constants), and nothing visits
// all workers.
func (m *Module) EndBlock(ctx *types.Context) error {
	if !ctx.Store.Has(keyParams) {
		return nil
	}
	p := m.Params(ctx.Store)
	g := loadGlobals(ctx.Store)
	if err := m.distributeBlockReward(ctx, p, &g); err != nil {
		return err
	}
	m.sweepDeadlines(ctx, p, &g)
	if err := m.autoReclaim(ctx, &g); err != nil {
		return err
	}
	m.serveQueues(ctx, p, &g)
	saveGlobals(ctx.Store, g)
	return nil
}

// hash64 is the first 8 bytes of SHA-256(domain ‖ seed ‖ height ‖ i) as a
// big-endian integer. The height is mixed in so that a randomness output
// seen twice (the module absent, or a missed update) never repeats a
// block's draws.
func hash64(domain string, seed []byte, height int64, i uint64) uint64 {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(seed)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(height))
	binary.BigEndian.PutUint64(b[8:], i)
	h.Write(b[:])
	var sum [32]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// below maps a uniform 64-bit value onto [0, n) by multiply-high (bias
// below n/2^64, negligible for any set size).
func below(x, n uint64) uint64 { hi, _ := bits.Mul64(x, n); return hi }

// ChallengeNonce is SHA-256(HeartbeatDomain ‖ randomness ‖ identity): the
// 32 bytes a worker must echo.
func ChallengeNonce(seed, identity []byte) []byte {
	h := sha256.New()
	h.Write([]byte(HeartbeatDomain))
	h.Write(seed)
	h.Write(identity)
	return h.Sum(nil)
}

// drawCount is the number of challenges this block: λ = active ·
// challenges_per_hour / blocks_per_hour with blocks_per_hour = 3,600,000 /
// expected_block_ms, i.e. λ = active·cph·ms / 3,600,000 exactly; ⌊λ⌋ draws
// plus one more with probability frac(λ), decided by the randomness.
func drawCount(p Params, active uint64, seed []byte, height int64) uint64 {
	const den = 3_600_000
	hi, lo := bits.Mul64(active, p.ChallengesPerHour*p.ExpectedBlockMs)
	if hi >= den {
		return MaxChallengesPerBlock
	}
	n, frac := bits.Div64(hi, lo, den)
	if frac > 0 && below(hash64(ExtraDrawDomain, seed, height, 0), den) < frac {
		n++
	}
	return min(n, MaxChallengesPerBlock)
}

// drawChallenges challenges uniformly drawn active workers. A drawn worker
// with an open challenge is skipped (not redrawn): the expected rate per
// worker stays at most challenges_per_hour and the work per block is
// bounded by the draw count.
func (m *Module) drawChallenges(ctx *types.Context, p Params, active uint64) error {
	seed := randomness.Seed(ctx.Store, ctx.Height)
	n := drawCount(p, active, seed, ctx.Height)
	deadline := ctx.Height + int64(p.ResponseWindowBlocks)
	for i := range n {
		id := ActiveAt(ctx.Store, below(hash64(DrawDomain, seed, ctx.Height, i), active))
		w := Worker(ctx.Store, id)
		if w == nil || w.GetChallenge() != nil {
			continue
		}
		c := &computev1.HeartbeatChallenge{Height: ctx.Height, Nonce: ChallengeNonce(seed, id), Deadline: deadline}
		seq, err := m.send(ctx, mq.WorkerTopic([32]byte(id)), &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_Heartbeat{Heartbeat: c}})
		if err != nil {
			return err
		}
		w.Challenge = &computev1.Challenge{Height: c.Height, Nonce: c.Nonce, Deadline: c.Deadline}
		putWorker(ctx.Store, w)
		ctx.Store.Set(deadlineKey(deadline, id), []byte{})
		if ctx.Emitting() {
			ctx.Emit("heartbeat_challenge", types.Attr{Key: "worker", Value: types.HexID(id)},
				types.Attr{Key: "deadline", Value: strconv.FormatInt(deadline, 10)},
				types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)})
		}
	}
	return nil
}

// due is an entry of a height-ordered index (deadlines, reclaims): its
// key prefix ‖ u64be height ‖ identity.
type due struct {
	key []byte
	h   int64
	id  []byte
}

// dueAt lists the entries of the index under prefix due at or below
// height, oldest first, at most max.
func dueAt(s types.KVStore, prefix []byte, height int64, max int) []due {
	var list []due
	s.Iterate(prefix, func(k, _ []byte) bool {
		if len(list) >= max || len(k) != len(prefix)+8+32 {
			return false
		}
		h := int64(binary.BigEndian.Uint64(k[len(prefix):]))
		if h > height {
			return false
		}
		list = append(list, due{bytes.Clone(k), h, bytes.Clone(k[len(prefix)+8:])})
		return true
	})
	return list
}

// sweepDeadlines turns open challenges due at or below this height into
// misses, oldest first, at most MaxDeadlinesPerBlock.
func (m *Module) sweepDeadlines(ctx *types.Context, p Params, g *globals) {
	for _, d := range dueAt(ctx.Store, prefixDeadline, ctx.Height, MaxDeadlinesPerBlock) {
		ctx.Store.Delete(d.key)
		w := Worker(ctx.Store, d.id)
		if w == nil || w.GetChallenge() == nil || w.GetChallenge().GetDeadline() != d.h {
			continue
		}
		m.miss(ctx, p, g, w)
	}
}

// miss records a missed heartbeat: V decays; a Computing worker becomes
// Unresponsive (share 0, out of the eligible set) and is slashed; an
// Unresponsive one only loses V, since it was already penalised and stays
// challenged so it can recover.
func (m *Module) miss(ctx *types.Context, p Params, g *globals, w *computev1.ComputeWorker) {
	id := w.GetIdentity()
	w.Challenge = nil
	w.Misses++
	w.Value = decay(w.GetValue(), p.ValueDecayPPM)
	wasComputing := w.GetState() == computev1.WorkerState_WORKER_STATE_COMPUTING
	if wasComputing {
		w.State = computev1.WorkerState_WORKER_STATE_UNRESPONSIVE
		ctx.Store.Delete(computingKey(id))
		g.Computing--
	}
	m.rebalance(ctx, p, g, w)
	var slashed types.Amount
	if wasComputing {
		stake := amountOf(w.GetStake())
		slashed = ppmOf(stake, p.SlashPPM)
		if !slashed.IsZero() {
			if err := m.bank.SlashReserved(ctx, stakeAccount(w), slashed, auth.TreasuryAccount); err != nil {
				panic(&types.StoreFailure{Err: err})
			}
			w.Stake = stake.SubSat(slashed).String()
			w.SlashedTotal = amountOf(w.GetSlashedTotal()).AddSat(slashed).String()
			g.TotalStake = g.TotalStake.SubSat(slashed)
		}
	}
	putWorker(ctx.Store, w)
	if ctx.Emitting() {
		ctx.Emit("heartbeat_missed", types.Attr{Key: "worker", Value: types.HexID(id)},
			types.Attr{Key: "misses", Value: strconv.FormatUint(w.GetMisses(), 10)},
			types.Attr{Key: "value", Value: strconv.FormatUint(w.GetValue(), 10)})
		if wasComputing {
			ctx.Emit("worker_unresponsive", types.Attr{Key: "worker", Value: types.HexID(id)})
			ctx.Emit("worker_slashed", types.Attr{Key: "worker", Value: types.HexID(id)},
				types.Attr{Key: "amount", Value: slashed.String()}, types.Attr{Key: "stake", Value: w.GetStake()},
				types.Attr{Key: "account", Value: ctx.Address(stakeAccount(w))})
		}
	}
	if wasComputing {
		m.notifyIneligible(ctx, id)
	}
}

// HandleEgress implements mq.EgressHandler for "compute/benchmark" and
// "compute/heartbeat". mq has already checked that the sender is a
// registered, non-stale worker and runs this in a cache written only on
// success.
func (m *Module) HandleEgress(ctx *types.Context, sender [32]byte, topic string, payload []byte) error {
	switch topic {
	case TopicHeartbeat:
		var a computev1.HeartbeatAnswer
		if err := proto.Unmarshal(payload, &a); err != nil {
			return types.Errf(types.CodeInvalidRequest, "malformed heartbeat answer: %v", err)
		}
		return m.answer(ctx, sender[:], &a)
	case TopicBenchmark:
		var r computev1.BenchmarkReport
		if err := proto.Unmarshal(payload, &r); err != nil {
			return types.Errf(types.CodeInvalidRequest, "malformed benchmark report: %v", err)
		}
		return m.benchmark(ctx, sender[:], &r)
	}
	return types.Errf(types.CodeInvalidRequest, "unknown compute egress topic %q (want %s or %s)", topic, TopicHeartbeat, TopicBenchmark)
}

// answer accepts a heartbeat answer: the open challenge is cleared, the
// worker's rewards settled and V grown; an Unresponsive worker recovers.
func (m *Module) answer(ctx *types.Context, id []byte, a *computev1.HeartbeatAnswer) error {
	w := Worker(ctx.Store, id)
	if w == nil {
		return errf(CodeNotBound, "worker %s is not bound", types.HexID(id))
	}
	c := w.GetChallenge()
	if c == nil {
		return errf(CodeNoChallenge, "worker %s has no open challenge", types.HexID(id))
	}
	if a.GetChallengeHeight() != c.GetHeight() || !bytes.Equal(a.GetNonce(), c.GetNonce()) {
		return errf(CodeWrongChallenge, "answer for the challenge of height %d does not match the open challenge of height %d", a.GetChallengeHeight(), c.GetHeight())
	}
	if ctx.Height > c.GetDeadline() {
		return errf(CodeChallengeExpired, "the challenge of height %d was due at %d (now %d)", c.GetHeight(), c.GetDeadline(), ctx.Height)
	}
	if h := a.GetSyncedHeight(); h < c.GetHeight() || h > ctx.Height {
		return types.Errf(types.CodeInvalidRequest, "synced height %d is outside %d..%d (the challenge's height to now)", h, c.GetHeight(), ctx.Height)
	}
	p := m.Params(ctx.Store)
	g := loadGlobals(ctx.Store)
	ctx.Store.Delete(deadlineKey(c.GetDeadline(), id))
	w.Challenge = nil
	w.LastHeartbeat = ctx.Height
	w.Heartbeats++
	w.Value = grow(w.GetValue(), p.ValueGrowthPPM, p.ValueCap)
	recovered := w.GetState() == computev1.WorkerState_WORKER_STATE_UNRESPONSIVE
	if recovered {
		w.State = computev1.WorkerState_WORKER_STATE_COMPUTING
		ctx.Store.Set(computingKey(id), amountOf(w.GetStake()).Bytes())
		g.Computing++
	}
	m.rebalance(ctx, p, &g, w)
	putWorker(ctx.Store, w)
	saveGlobals(ctx.Store, g)
	if ctx.Emitting() {
		ctx.Emit("heartbeat", types.Attr{Key: "worker", Value: types.HexID(id)},
			types.Attr{Key: "challenge_height", Value: strconv.FormatInt(c.GetHeight(), 10)},
			types.Attr{Key: "value", Value: strconv.FormatUint(w.GetValue(), 10)},
			types.Attr{Key: "share", Value: strconv.FormatUint(w.GetShare(), 10)})
		if recovered {
			ctx.Emit("worker_recovered", types.Attr{Key: "worker", Value: types.HexID(id)})
		}
	}
	return nil
}

// benchmark records a worker's benchmark score P (bound or not: a worker
// reports before its operator binds it, and binding picks the score up).
// Scores above max_score are clamped to it. A Computing worker's share
// follows the new score at once (rewards settled first); the minimum stake
// is checked only when computing starts.
func (m *Module) benchmark(ctx *types.Context, id []byte, r *computev1.BenchmarkReport) error {
	if r.GetScore() == 0 {
		return errf(CodeInvalidScore, "benchmark score must be positive")
	}
	p := m.Params(ctx.Store)
	score := min(r.GetScore(), p.MaxScore)
	v := binary.BigEndian.AppendUint64(u64(score), uint64(ctx.Height))
	ctx.Store.Set(scoreKey(id), v)
	if w := Worker(ctx.Store, id); w != nil {
		g := loadGlobals(ctx.Store)
		w.Score, w.ScoreReportedAt = score, ctx.Height
		m.rebalance(ctx, p, &g, w)
		putWorker(ctx.Store, w)
		saveGlobals(ctx.Store, g)
	}
	if ctx.Emitting() {
		ctx.Emit("score_reported", types.Attr{Key: "worker", Value: types.HexID(id)},
			types.Attr{Key: "score", Value: strconv.FormatUint(score, 10)},
			types.Attr{Key: "reported", Value: strconv.FormatUint(r.GetScore(), 10)},
			types.Attr{Key: "duration_ms", Value: strconv.FormatUint(r.GetDurationMs(), 10)},
			types.Attr{Key: "iterations", Value: strconv.FormatUint(r.GetIterations(), 10)})
	}
	return nil
}
