package worker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/mq"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

var computeOrigin = &mqv1.Origin{Kind: &mqv1.Origin_Module{Module: "compute"}}

// heartbeatMsg is a WorkerMessage carrying a challenge.
func heartbeatMsg(t testing.TB, height int64, nonce []byte, deadline int64) []byte {
	return mustProto(t, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_Heartbeat{Heartbeat: &computev1.HeartbeatChallenge{
		Height: height, Nonce: nonce, Deadline: deadline}}})
}

// withVerifiedChain binds w, gives it a trust root and verifies n light
// blocks, so its trusted height is n.
func withVerifiedChain(t *testing.T, w *Worker, n int) {
	t.Helper()
	const chainID = "compute-chain"
	gh := bytes.Repeat([]byte{9}, 32)
	if err := w.bind(chainID, gh); err != nil {
		t.Fatal(err)
	}
	chain := signedChain(t, chainID, n)
	vsp, _ := chain[0].ValidatorSet.ToProto()
	vsb, _ := vsp.Marshal()
	if _, err := w.sync.initTrustRoot(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
		ChainId: chainID, GenesisHash: gh, InitialHeight: 1, ValidatorSet: vsb}}}); err != nil {
		t.Fatal(err)
	}
	for _, lb := range chain {
		if err := w.sync.lc.Update(lb); err != nil {
			t.Fatal(err)
		}
	}
}

// egressSince decodes (and authenticates) the worker's egress from
// sequence `from` on.
func egressSince(t *testing.T, w *Worker, from uint64) []*mqv1.EgressMessage {
	t.Helper()
	var out []*mqv1.EgressMessage
	for _, m := range w.sync.outbox.From(from) {
		em, sender, err := mq.DecodeEgress(m.GetMessage(), m.GetSignature())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sender[:], w.Identity()) {
			t.Fatalf("egress from %x, not the worker", sender)
		}
		out = append(out, em)
	}
	return out
}

// metricValue reads a counter or gauge of the worker's registry (0 when
// absent) whose labels include the given ones.
func metricValue(t *testing.T, w *Worker, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := w.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestHeartbeatAnswered: challenges on the worker's topic (processed as
// dispatch processes verified messages) are answered with exactly one
// signed HeartbeatAnswer each, echoing height and nonce; malformed ones
// consume their sequence without an answer or an error, and later
// challenges are still answered; a challenge past its deadline is
// answered too, and logged.
func TestHeartbeatAnswered(t *testing.T) {
	w, logs := newTestWorker(t, t.TempDir(), nil)
	defer w.Close()
	withVerifiedChain(t, w, 5)
	wt := mq.WorkerTopic([32]byte(w.Identity()))
	nonce := bytes.Repeat([]byte{0xa5}, 32)
	before := w.sync.outbox.Next()

	answers := func(from uint64) []*computev1.HeartbeatAnswer {
		var out []*computev1.HeartbeatAnswer
		for _, em := range egressSince(t, w, from) {
			if em.GetTopic() != TopicHeartbeat {
				t.Fatalf("egress on %q", em.GetTopic())
			}
			var a computev1.HeartbeatAnswer
			if err := proto.Unmarshal(em.GetPayload(), &a); err != nil {
				t.Fatal(err)
			}
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&a)
			if !bytes.Equal(b, em.GetPayload()) {
				t.Fatal("answer is not deterministically encoded")
			}
			out = append(out, &a)
		}
		return out
	}

	feed(t, w, wt, 0, computeOrigin, heartbeatMsg(t, 4, nonce, 9))
	got := answers(before)
	if len(got) != 1 || got[0].GetChallengeHeight() != 4 || !bytes.Equal(got[0].GetNonce(), nonce) || got[0].GetSyncedHeight() != 5 {
		t.Fatalf("answers %v", got)
	}

	// Malformed: none answered, none fails the call.
	processed := w.sync.processed
	next := w.sync.outbox.Next()
	for i, p := range [][]byte{
		heartbeatMsg(t, 4, nonce[:31], 9),                    // short nonce
		heartbeatMsg(t, 4, append(bytes.Clone(nonce), 1), 9), // long nonce
		heartbeatMsg(t, 0, nonce, 9),                         // height 0
		heartbeatMsg(t, -3, nonce, 9),                        // negative height
		heartbeatMsg(t, 4, nonce, 3),                         // deadline below height
		mustProto(t, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_Heartbeat{Heartbeat: &computev1.HeartbeatChallenge{}}}), // empty challenge
		{0xff, 0x01}, // not a WorkerMessage
	} {
		feed(t, w, wt, uint64(1+i), computeOrigin, p)
	}
	if w.sync.processed != processed+7 || w.sync.outbox.Next() != next {
		t.Fatalf("malformed challenges: processed %d → %d, egress %d → %d", processed, w.sync.processed, next, w.sync.outbox.Next())
	}
	if n := metricValue(t, w, "veil_worker_heartbeats_total", "outcome", "malformed"); n != 6 {
		t.Fatalf("%v malformed heartbeats counted", n)
	}
	if n := metricValue(t, w, "veil_worker_messages_processed_total", "topic", "worker", "outcome", "malformed"); n != 7 {
		t.Fatalf("%v malformed worker messages counted", n)
	}

	// Past the deadline (deadline ≤ verified height): answered, logged.
	n2 := bytes.Repeat([]byte{0x5a}, 32)
	feed(t, w, wt, 8, computeOrigin, heartbeatMsg(t, 2, n2, 5))
	feed(t, w, wt, 9, computeOrigin, heartbeatMsg(t, 6, nonce, 6))
	got = answers(next)
	if len(got) != 2 || got[0].GetChallengeHeight() != 2 || !bytes.Equal(got[0].GetNonce(), n2) ||
		got[1].GetChallengeHeight() != 6 || !bytes.Equal(got[1].GetNonce(), nonce) {
		t.Fatalf("answers %v", got)
	}
	if n := strings.Count(logs.String(), "past its deadline"); n != 1 {
		t.Fatalf("%d late answers logged:\n%s", n, logs.String())
	}
	for outcome, want := range map[string]float64{"answered": 2, "late": 1} {
		if n := metricValue(t, w, "veil_worker_heartbeats_total", "outcome", outcome); n != want {
			t.Fatalf("%s: %v, want %v", outcome, n, want)
		}
	}
	if n := metricValue(t, w, "veil_worker_messages_processed_total", "topic", "worker", "outcome", "heartbeat_late"); n != 1 {
		t.Fatalf("%v late heartbeat messages counted", n)
	}
	if strings.Contains(logs.String(), "a5a5a5a5") {
		t.Fatal("the nonce was logged")
	}
}

// TestTopicsMatchChain: the chain routes egress by topic; the worker's
// names are its own constants and must stay the compute module's.
func TestTopicsMatchChain(t *testing.T) {
	if TopicBenchmark != compute.TopicBenchmark || TopicHeartbeat != compute.TopicHeartbeat {
		t.Fatalf("worker topics %q, %q; chain/compute %q, %q", TopicBenchmark, TopicHeartbeat, compute.TopicBenchmark, compute.TopicHeartbeat)
	}
}

func TestBenchmarkScore(t *testing.T) {
	for _, c := range []struct {
		n       uint64
		elapsed time.Duration
		want    uint64
	}{
		{40_000, time.Second, 1250},
		{4_000, 100 * time.Millisecond, 1250},
		{31, time.Second, 0},
		{0, time.Second, 0},
		{1 << 40, time.Minute, 572662306}, // n·10⁹ needs 128 bits
		{100, 0, 0},
		{math.MaxUint64, time.Nanosecond, math.MaxUint64},
	} {
		if got := benchmarkScore(c.n, c.elapsed); got != c.want {
			t.Errorf("benchmarkScore(%d, %v) = %d, want %d", c.n, c.elapsed, got, c.want)
		}
	}
}

func TestRunBenchmark(t *testing.T) {
	res, err := RunBenchmark(context.Background(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Score == 0 || res.Iterations == 0 || res.Iterations%benchmarkCheckEvery != 0 || res.Duration < 100*time.Millisecond ||
		res.Score != benchmarkScore(res.Iterations, res.Duration) {
		t.Fatalf("result %+v", res)
	}
	t.Logf("score %d (%d iterations in %v)", res.Score, res.Iterations, res.Duration)
	for _, d := range []time.Duration{0, -time.Second, MaxBenchmarkDuration + 1} {
		if _, err := RunBenchmark(context.Background(), d); err == nil {
			t.Errorf("duration %v accepted", d)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunBenchmark(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// benchmarkReport decodes the single egress message the worker hands out
// as a BenchmarkReport.
func benchmarkReport(t *testing.T, eg *workerv1.GetEgressResponse) *computev1.BenchmarkReport {
	t.Helper()
	if len(eg.GetMessages()) != 1 {
		t.Fatalf("%d egress messages handed out, want 1", len(eg.GetMessages()))
	}
	em, _, err := mq.DecodeEgress(eg.GetMessages()[0].GetMessage(), eg.GetMessages()[0].GetSignature())
	if err != nil || em.GetTopic() != TopicBenchmark {
		t.Fatalf("egress %v %v", em, err)
	}
	var rep computev1.BenchmarkReport
	if err := proto.Unmarshal(em.GetPayload(), &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

// TestStartupBenchmark: a started worker benchmarks in the background and
// queues a BenchmarkReport, sealed (handed out to the relayer, kept across
// a restart) at once when the worker has a trust root.
func TestStartupBenchmark(t *testing.T) {
	home := t.TempDir()
	w, _ := newTestWorker(t, home, func(c *Config) { c.BenchmarkDuration = 50 * time.Millisecond })
	withTrustRoot(t, w)
	if _, ok := w.Benchmark(); ok {
		t.Fatal("a result before the benchmark ran")
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	<-w.benchDone
	res, ok := w.Benchmark()
	if !ok || res.Score == 0 || res.Iterations == 0 {
		t.Fatalf("benchmark %+v %v", res, ok)
	}
	if g := metricValue(t, w, "veil_worker_benchmark_score"); g != float64(res.Score) {
		t.Fatalf("gauge %v, score %d", g, res.Score)
	}
	rep := benchmarkReport(t, w.sync.egress(0, 0))
	if rep.GetScore() != res.Score || rep.GetIterations() != res.Iterations || rep.GetDurationMs() != uint64(res.Duration.Milliseconds()) || rep.GetDurationMs() < 50 {
		t.Fatalf("report %v, result %+v", rep, res)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2, _ := newTestWorker(t, home, nil)
	defer w2.Close()
	if eg := w2.sync.egress(0, 0); len(eg.GetMessages()) != 1 || !proto.Equal(eg.GetMessages()[0], w.sync.outbox.From(0)[0]) {
		t.Fatal("the benchmark report was not sealed")
	}
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	if w2.benchDone != nil {
		t.Fatal("a benchmark ran with BenchmarkDuration 0")
	}
}

// TestBenchmarkBeforeTrustRoot: a report queued before the worker has a
// trust root (no checkpoint to seal it into) is held back until the first
// checkpoint seals it.
func TestBenchmarkBeforeTrustRoot(t *testing.T) {
	w, _ := newTestWorker(t, t.TempDir(), func(c *Config) { c.BenchmarkDuration = 20 * time.Millisecond })
	defer w.Close()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	<-w.benchDone
	res, _ := w.Benchmark()
	if n := w.sync.outbox.Len(); n != 1 {
		t.Fatalf("%d egress messages queued", n)
	}
	if eg := w.sync.egress(0, 0); len(eg.GetMessages()) != 0 {
		t.Fatal("unsealed egress handed out")
	}
	withTrustRoot(t, w)
	if rep := benchmarkReport(t, w.sync.egress(0, 0)); rep.GetScore() != res.Score {
		t.Fatalf("report %v, result %+v", rep, res)
	}
}

// TestBenchmarkStoppedByClose: Close cancels a running benchmark, which
// then reports nothing (with a trust root, a report would be sealed).
func TestBenchmarkStoppedByClose(t *testing.T) {
	w, _ := newTestWorker(t, t.TempDir(), func(c *Config) { c.BenchmarkDuration = MaxBenchmarkDuration })
	withTrustRoot(t, w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.Benchmark(); ok || w.sync.outbox.Len() != 0 {
		t.Fatalf("a cancelled benchmark reported (%d egress)", w.sync.outbox.Len())
	}
}

func TestBenchmarkDurationValidated(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, MaxBenchmarkDuration + time.Second} {
		_, err := New(context.Background(), Config{Home: t.TempDir(), TEE: attest.KindSimulated, BenchmarkDuration: d, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), "benchmark duration") {
			t.Errorf("duration %v: %v", d, err)
		}
	}
}
