package worker

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math"
	"math/bits"
	"time"

	"google.golang.org/protobuf/proto"

	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
)

// Egress topics of the compute module (chain/compute defines the same
// strings on its side; the chain routes egress by topic, so they must
// match exactly).
const (
	// TopicBenchmark carries a BenchmarkReport: the score P of the
	// benchmark the worker ran inside its TEE (the latest report counts).
	TopicBenchmark = "compute/benchmark"
	// TopicHeartbeat carries a HeartbeatAnswer to a HeartbeatChallenge the
	// chain sent to the worker's own topic.
	TopicHeartbeat = "compute/heartbeat"
)

// Benchmark parameters. See docs/lightclient.md, "Heartbeats and
// benchmark".
const (
	// DefaultBenchmarkDuration is 'veil worker's default: long enough for
	// a stable figure, short enough not to matter at start.
	DefaultBenchmarkDuration = time.Second
	// MaxBenchmarkDuration bounds Config.BenchmarkDuration: the benchmark
	// occupies a core while the worker catches up.
	MaxBenchmarkDuration = time.Minute
	// BenchmarkScaleDivisor scales iterations per second to the score P,
	// so that one current server core scores in the hundreds to low
	// thousands (≈ 40,000 iterations/s, P ≈ 1,250 on one core of a Xeon VM).
	// Changing it changes every worker's P: the chain's stake and reward
	// formulas are calibrated against it.
	BenchmarkScaleDivisor = 32
	// benchmarkBlockBytes is the data hashed per iteration.
	benchmarkBlockBytes = 4096
	// benchmarkCheckEvery iterations (≈ 0.4 ms) pass between clock reads
	// and cancellation checks.
	benchmarkCheckEvery = 16
)

// BenchmarkResult is one benchmark run.
type BenchmarkResult struct {
	// Score is P: iterations per second / BenchmarkScaleDivisor.
	Score uint64
	// Iterations completed and how long they took.
	Iterations uint64
	Duration   time.Duration
}

// benchmarkKey is the benchmark's signing key: fixed and public (it signs
// nothing anyone verifies), so the work is the same on every worker.
func benchmarkKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("veil/worker/benchmark/v1"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// RunBenchmark runs the worker's CPU benchmark for about d on one core
// and returns its score. One iteration hashes a 4 KiB block with SHA-256
// and signs the digest with ed25519 — the two primitives the worker
// spends its time on (proofs, sealing, egress signatures); each block
// starts with the previous signature, so no iteration can be skipped or
// run in parallel. One core, because the worker processes its messages
// sequentially (one mutex serializes sync, execution and egress), so a
// core's speed is what bounds its throughput.
//
// Inside a TEE the clock belongs to the host: a host that slows it
// inflates the score. The score is the worker's claim, signed by its
// attested identity; the chain bounds what it can earn (docs).
func RunBenchmark(ctx context.Context, d time.Duration) (BenchmarkResult, error) {
	if d <= 0 || d > MaxBenchmarkDuration {
		return BenchmarkResult{}, fmt.Errorf("benchmark duration %v: want (0, %v]", d, MaxBenchmarkDuration)
	}
	key := benchmarkKey()
	block := make([]byte, benchmarkBlockBytes)
	for i := range block {
		block[i] = byte(i)
	}
	var n uint64
	start := time.Now()
	for {
		for range benchmarkCheckEvery {
			digest := sha256.Sum256(block)
			copy(block, ed25519.Sign(key, digest[:]))
		}
		n += benchmarkCheckEvery
		if err := ctx.Err(); err != nil {
			return BenchmarkResult{}, err
		}
		if time.Since(start) >= d {
			break
		}
	}
	elapsed := time.Since(start)
	return BenchmarkResult{Score: benchmarkScore(n, elapsed), Iterations: n, Duration: elapsed}, nil
}

// benchmarkScore is n iterations in elapsed, per second, divided by
// BenchmarkScaleDivisor, in exact integer arithmetic (n·10⁹ needs 128
// bits for long runs).
func benchmarkScore(n uint64, elapsed time.Duration) uint64 {
	if elapsed <= 0 {
		return 0
	}
	den := uint64(elapsed) * BenchmarkScaleDivisor // elapsed ≤ a minute: no overflow
	hi, lo := bits.Mul64(n, uint64(time.Second))
	if hi >= den {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, den)
	return q
}

// report is the benchmark's egress payload.
func (r BenchmarkResult) report() *computev1.BenchmarkReport {
	return &computev1.BenchmarkReport{Score: r.Score, DurationMs: uint64(r.Duration.Milliseconds()), Iterations: r.Iterations}
}

// runBenchmark is the worker's start-up benchmark (Start runs it in the
// background): it records the score and queues the report for the chain.
// A benchmark cut short by Close reports nothing.
func (w *Worker) runBenchmark(ctx context.Context, d time.Duration) {
	defer close(w.benchDone)
	log := w.log.With("component", "benchmark")
	log.Debug("benchmark started", "duration", d)
	res, err := RunBenchmark(ctx, d)
	if err != nil {
		log.Info("benchmark not completed", "err", err)
		return
	}
	w.mu.Lock()
	w.bench = &res
	w.mu.Unlock()
	w.metrics.benchmarkScore.Set(float64(res.Score))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(res.report())
	if err == nil {
		err = w.sync.sendSealed(TopicBenchmark, b)
	}
	if err != nil {
		log.Error("could not queue the benchmark report", "score", res.Score, "err", err)
		return
	}
	log.Info("benchmark done; report queued for the chain", "score", res.Score, "iterations", res.Iterations,
		"duration_ms", res.Duration.Milliseconds(), "topic", TopicBenchmark)
}

// Benchmark is the result of the start-up benchmark (false until it has
// completed, and when Config.BenchmarkDuration is 0).
func (w *Worker) Benchmark() (BenchmarkResult, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bench == nil {
		return BenchmarkResult{}, false
	}
	return *w.bench, true
}

// sendSealed queues egress from outside a relayer call (the benchmark) and
// seals it, which makes it available to the relayer. Before the trust root
// exists there is no checkpoint to seal into: initTrustRoot's first
// checkpoint seals it.
func (s *syncer) sendSealed(topic string, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.outbox.Send(topic, payload); err != nil {
		return err
	}
	s.updateGauges()
	if s.root == nil && !s.store.ephemeral() {
		return nil
	}
	return s.checkpoint()
}

// checkChallenge validates a heartbeat challenge's shape.
func checkChallenge(c *computev1.HeartbeatChallenge) error {
	switch {
	case len(c.GetNonce()) != 32:
		return fmt.Errorf("nonce has %d bytes, want 32", len(c.GetNonce()))
	case c.GetHeight() <= 0:
		return fmt.Errorf("height %d is not positive", c.GetHeight())
	case c.GetDeadline() < c.GetHeight():
		return fmt.Errorf("deadline %d is below the challenge height %d", c.GetDeadline(), c.GetHeight())
	}
	return nil
}

// answerHeartbeat answers a heartbeat challenge with egress on
// TopicHeartbeat echoing its height and nonce, and returns the message's
// outcome. Callers hold s.mu.
//
// A challenge whose deadline the worker's verified chain has already
// reached is still answered: block `synced` is committed, so the answer
// lands at synced+1 at the earliest and will be late, but the chain, not
// the worker, decides what a late answer is worth (a relayer that held
// the challenge back should not also make the worker look silent).
func (s *syncer) answerHeartbeat(m *mqv1.Message, c *computev1.HeartbeatChallenge) string {
	if err := checkChallenge(c); err != nil {
		s.m.heartbeats.WithLabelValues("malformed").Inc()
		s.log.Warn("malformed heartbeat challenge", "sequence", m.GetSequence(), "err", err)
		return "malformed"
	}
	var synced int64
	if s.lc != nil {
		synced = s.lc.TrustedHeight()
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&computev1.HeartbeatAnswer{
		ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: synced})
	if err == nil {
		_, err = s.outbox.Send(TopicHeartbeat, b)
	}
	if err != nil {
		s.m.heartbeats.WithLabelValues("failed").Inc()
		s.log.Error("could not answer a heartbeat challenge", "sequence", m.GetSequence(), "height", c.GetHeight(), "err", err)
		return "failed"
	}
	if c.GetDeadline() <= synced {
		s.m.heartbeats.WithLabelValues("late").Inc()
		s.log.Info("answered a heartbeat challenge past its deadline (the chain decides)", "sequence", m.GetSequence(),
			"height", c.GetHeight(), "deadline", c.GetDeadline(), "synced_height", synced)
		return "heartbeat_late"
	}
	s.m.heartbeats.WithLabelValues("answered").Inc()
	s.log.Debug("answered a heartbeat challenge", "sequence", m.GetSequence(), "height", c.GetHeight(),
		"deadline", c.GetDeadline(), "synced_height", synced)
	return "heartbeat"
}
